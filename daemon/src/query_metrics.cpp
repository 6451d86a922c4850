// GET /metrics: Prometheus text exposition 0.0.4. Counters come from relaxed atomics of the
// network and writer threads, segment sizes from the writer's published counts, silence and
// drift from a few indexed store rows. Only series that have been seen are written.
#include <charconv>

#include "change_notifier.hpp"
#include "ingest.hpp"
#include "query_context.hpp"

namespace shopsegd {

const char* outcome_label(delivery_outcome o) noexcept {
  constexpr const char* names[] = {"applied", "stale", "duplicate", "quarantined", "failed", "overloaded"};
  return names[static_cast<std::size_t>(o)];
}

namespace {

class exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }
  // `labels` is a list of name, value, name, value...
  void sample(std::string_view name, std::initializer_list<std::string_view> labels, double value,
              std::string_view suffix = {}) {
    out_.append(name).append(suffix);
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (auto it = labels.begin(); it != labels.end(); it += 2) {
        if (!first) out_ += ',';
        first = false;
        out_.append(*it).append("=\"");
        escape(*(it + 1));
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    number(value);
    out_ += '\n';
  }
  void counter(std::string_view name, std::string_view help, double value, std::string_view type = "counter") {
    family(name, type, help);
    sample(name, {}, value);
  }
  template <std::size_t N>
  void histogram(std::string_view name, std::string_view help, const shopsegd::histogram<N>& h) {
    family(name, "histogram", help);
    std::uint64_t cumulative = 0;
    char le[32];
    for (std::size_t i = 0; i < N; ++i) {
      cumulative += h.buckets[i].load(std::memory_order_relaxed);
      auto [p, ec] = std::to_chars(le, le + sizeof le, h.bounds[i]);
      sample(name, {"le", std::string_view(le, static_cast<std::size_t>(p - le))}, static_cast<double>(cumulative), "_bucket");
    }
    cumulative += h.buckets[N].load(std::memory_order_relaxed);
    sample(name, {"le", "+Inf"}, static_cast<double>(cumulative), "_bucket");
    sample(name, {}, h.sum.load(std::memory_order_relaxed), "_sum");
    sample(name, {}, static_cast<double>(cumulative), "_count");
  }
  std::string take() { return std::move(out_); }

 private:
  void escape(std::string_view v) {
    for (char c : v) {
      if (c == '\\' || c == '"') out_ += '\\';
      if (c == '\n') {
        out_ += "\\n";
        continue;
      }
      out_ += c;
    }
  }
  void number(double v) {
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, p);
  }
  std::string out_;
};

double n(const std::atomic<std::uint64_t>& a) { return static_cast<double>(a.load(std::memory_order_relaxed)); }

void deliveries(exposition& e, const ingest_counters& k) {
  e.family("shopseg_deliveries_total", "counter", "Verified webhook deliveries by topic and outcome.");
  for (std::size_t t = 0; t < topic_count; ++t)
    for (std::size_t o = 0; o < delivery_outcomes; ++o)
      if (auto v = k.deliveries[t][o].load(std::memory_order_relaxed); v > 0)
        e.sample("shopseg_deliveries_total",
                 {"topic", shopify::topic_name(static_cast<shopify::topic>(t)), "outcome",
                  outcome_label(static_cast<delivery_outcome>(o))},
                 static_cast<double>(v));
  e.counter("shopseg_duplicates_total", "Deliveries whose webhook id was seen before.", n(k.duplicates));
  e.counter("shopseg_stale_payloads_total", "Deliveries older than the stored version, or for deleted records.", n(k.stale));
  e.counter("shopseg_quarantined_total", "Verified deliveries kept in quarantine because they could not be decoded.",
            n(k.quarantined));
  e.counter("shopseg_quarantine_retries_total", "Quarantined deliveries retried through the admin socket.", n(k.retries));
  e.counter("shopseg_commit_failures_total", "Deliveries answered 503 because their commit failed.", n(k.failures));
  e.histogram("shopseg_commit_duration_seconds", "Time from BEGIN to the COMMIT that acknowledges a batch.", k.commit_seconds);
  e.histogram("shopseg_batch_size", "Deliveries per committed batch.", k.batch_size);
  e.counter("shopseg_evaluations_total", "Customers whose segments were evaluated after deliveries.", n(k.evaluations));
  e.counter("shopseg_clock_evaluations_total", "Customers re-evaluated because time passed.", n(k.clock_evaluations));
  e.counter("shopseg_membership_changes_total", "Segment joins and leaves written to the change log.",
            n(k.membership_changes));
}

}  // namespace

answer query_api::metrics(const context& c) {
  exposition e;
  if (state_.webhooks) {
    const auto& w = *state_.webhooks;
    e.counter("shopseg_hmac_failures_total", "Webhook requests refused with 401 (missing or wrong HMAC).", n(w.hmac_failures));
    e.counter("shopseg_rejected_overload_total", "Webhook requests refused because the queue or the connections were full.",
              n(w.rejected_overload));
    e.counter("shopseg_webhook_connections", "Open webhook connections.",
              static_cast<double>(w.connections.load(std::memory_order_relaxed)), "gauge");
  }
  if (state_.pipeline) {
    const ingest& p = *state_.pipeline;
    deliveries(e, p.counters());
    e.counter("shopseg_queue_depth", "Deliveries waiting for the writer.", static_cast<double>(p.depth()), "gauge");
    e.counter("shopseg_reload_running", "1 while a reload recomputes segments.", p.reload_running() ? 1 : 0, "gauge");
    const auto counts = p.counts().load();
    e.family("shopseg_segment_members", "gauge", "Customers in each segment, by shop.");
    for (const auto& [segment, shops] : counts->members)
      for (const auto& [shop, members] : shops)
        e.sample("shopseg_segment_members", {"segment", segment, "shop", shop}, static_cast<double>(members));
  }
  if (state_.changes)
    e.counter("shopseg_change_waiters", "Long-polls of the change log waiting.", static_cast<double>(state_.changes->waiting()),
              "gauge");
  const std::int64_t now = state_.clock ? state_.clock() : now_ms();
  if (auto shops = reader_->shops()) {
    e.family("shopseg_seconds_since_last_event", "gauge", "Seconds since the shop's last applied delivery (silence).");
    for (const auto& s : *shops)
      if (s.last_event_at_ms)
        e.sample("shopseg_seconds_since_last_event", {"shop", s.shop}, static_cast<double>(now - *s.last_event_at_ms) / 1000.0);
  }
  if (auto drift = reader_->drift_count())
    e.counter("shopseg_drift_customers", "Customers whose aggregates disagree with Shopify's purchasing summary.",
              static_cast<double>(*drift), "gauge");
  return reply(http::status::ok, e.take(), c.req, "text/plain; version=0.0.4");
}

}  // namespace shopsegd
