// Events -> wire lines: the REST webhook shape, written with exactly the fields the decoders
// read, so that decoding a wire line gives the event back unchanged (money and times exact).
#include <cstdio>
#include <cstring>

#include "shopify/import.hpp"
#include "shopify/money.hpp"
#include "shopify/timestamp.hpp"

namespace shopify {
namespace {

// Runs of characters that need no escape are appended whole: this is most of what an import's
// client does per record.
void append_string(std::string& out, std::string_view text) {
  std::size_t first = 0;
  while (first < text.size()) {
    const auto c = static_cast<unsigned char>(text[first]);
    if (c == '"' || c == '\\' || c < 0x20) break;
    ++first;
  }
  if (first == text.size()) {  // nothing to escape (nearly every value): one append
    const std::size_t at = out.size();
    out.resize(at + text.size() + 2);
    out[at] = '"';
    if (!text.empty()) std::memcpy(out.data() + at + 1, text.data(), text.size());
    out[at + text.size() + 1] = '"';
    return;
  }
  out += '"';
  std::size_t plain = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c != '"' && c != '\\' && c >= 0x20) continue;
    out.append(text.substr(plain, i - plain));
    plain = i + 1;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += text[i];
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    }
  }
  out.append(text.substr(plain));
  out += '"';
}

struct object_writer {
  std::string& out;
  bool first = true;
  explicit object_writer(std::string& o) : out(o) { out += '{'; }
  // `k` is one of this file's literal field names, none of which needs escaping.
  void key(std::string_view k) {
    const std::size_t at = out.size();
    const std::size_t comma = first ? 0 : 1;
    out.resize(at + comma + k.size() + 3);
    char* p = out.data() + at;
    if (comma) *p++ = ',';
    *p++ = '"';
    std::memcpy(p, k.data(), k.size());
    p += k.size();
    *p++ = '"';
    *p = ':';
    first = false;
  }
  void text(std::string_view k, std::string_view v) { key(k), append_string(out, v); }
  void maybe_text(std::string_view k, const std::optional<std::string>& v) {
    if (v) text(k, std::string_view(*v));
  }
  void time(std::string_view k, std::int64_t ms) { text(k, format_timestamp_ms(ms)); }
  void number(std::string_view k, std::uint64_t v) { key(k), out += std::to_string(v); }
  void flag(std::string_view k, bool v) { key(k), out += v ? "true" : "false"; }
  void close() { out += '}'; }
};

void append_customer(std::string& out, const customer_snapshot& c) {
  object_writer w(out);
  w.number("id", c.customer_id);
  w.maybe_text("email", c.email);
  w.maybe_text("phone", c.phone);
  w.maybe_text("first_name", c.first_name);
  w.maybe_text("last_name", c.last_name);
  w.maybe_text("state", c.state);
  if (c.created_at_ms) w.time("created_at", *c.created_at_ms);
  if (c.updated_at_ms != 0) w.time("updated_at", c.updated_at_ms);
  if (c.tags) {
    w.key("tags");
    out += '[';
    for (std::size_t i = 0; i < c.tags->size(); ++i) {
      if (i) out += ',';
      append_string(out, (*c.tags)[i]);
    }
    out += ']';
  }
  w.close();
}

void append_order(std::string& out, const order_upsert& o) {
  object_writer w(out);
  w.number("id", o.order_id);
  w.time("updated_at", o.updated_at_ms);
  w.time("created_at", o.created_at_ms);
  w.time("processed_at", o.processed_at_ms);
  w.text("name", o.name);
  w.text("email", o.email);
  w.key("current_total_price_set");
  out += "{\"shop_money\":";
  object_writer money(out);
  money.text("amount", format_money(o.net_amount_minor, currency_exponent(o.currency)));
  money.text("currency_code", o.currency);
  money.close();
  out += '}';
  w.flag("test", o.test);
  if (o.cancelled_at_ms) w.time("cancelled_at", *o.cancelled_at_ms);
  w.text("financial_status", o.financial_status);
  w.text("fulfillment_status", o.fulfillment_status);
  if (o.customer) {
    w.key("customer");
    append_customer(out, *o.customer);
  } else if (o.customer_id) {
    w.key("customer");
    customer_snapshot only_id;
    only_id.customer_id = *o.customer_id;
    append_customer(out, only_id);
  }
  w.close();
}

}  // namespace

void append_wire_line(std::string& out, const event& e) {
  if (const auto* order = std::get_if<order_upsert>(&e)) {
    out += "o\t";
    append_order(out, *order);
  } else if (const auto* customer = std::get_if<customer_upsert>(&e)) {
    out += "c\t";
    append_customer(out, customer->customer);
  } else {
    return;  // the reader gives out nothing else
  }
  out += '\n';
}

topic wire_topic(char kind) noexcept {
  if (kind == 'o') return topic::orders_updated;
  if (kind == 'c') return topic::customers_update;
  return topic::unknown;
}

}  // namespace shopify
