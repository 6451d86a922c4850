// Event -> store mapping. One overload per event type (std::visit is the table); each maps the
// payload's fields onto the store's plain records and calls one writer operation.
#include "apply.hpp"

namespace shopsegd {
namespace {

template <class Snapshot>  // const shopify::customer_snapshot&, or && to move its strings
store::profile_record to_profile(Snapshot&& c) {
  store::profile_record p;
  p.customer_id = c.customer_id;
  p.updated_at_ms = c.updated_at_ms;
  p.email = std::forward<Snapshot>(c).email;
  p.phone = std::forward<Snapshot>(c).phone;
  p.first_name = std::forward<Snapshot>(c).first_name;
  p.last_name = std::forward<Snapshot>(c).last_name;
  p.state = std::forward<Snapshot>(c).state;
  p.created_at_ms = c.created_at_ms;
  p.tags = std::forward<Snapshot>(c).tags;
  return p;
}

template <class Order>  // const shopify::order_upsert&, or && to move its strings
store::order_record to_order(Order&& o) {
  store::order_record r;
  r.order_id = o.order_id;
  r.customer_id = o.customer_id;
  r.name = std::forward<Order>(o).name;
  r.updated_at_ms = o.updated_at_ms;
  r.created_at_ms = o.created_at_ms;
  r.processed_at_ms = o.processed_at_ms;
  r.net_amount_minor = o.net_amount_minor;
  r.currency = std::forward<Order>(o).currency;
  r.test = o.test;
  r.cancelled_at_ms = o.cancelled_at_ms;
  r.financial_status = std::forward<Order>(o).financial_status;
  r.fulfillment_status = std::forward<Order>(o).fulfillment_status;
  r.email = std::forward<Order>(o).email;
  return r;
}

struct applier {
  store::writer& w;
  std::string_view shop;
  std::string_view webhook_id;
  std::int64_t at_ms;

  using result = store::result<apply_result>;

  static result wrap(store::result<store::outcome> r, bool erased = false) {
    if (!r) return r.error();
    return apply_result{*r, erased};
  }

  result operator()(const shopify::order_upsert& o) {
    if (!o.currency.empty()) {
      if (auto r = w.ensure_shop(shop, o.currency); !r) return r.error();
    }
    std::optional<store::profile_record> nested;
    if (o.customer) nested = to_profile(*o.customer);
    if (nested) nested->tags.reset();  // tags come only from customers/* payloads
    return wrap(w.upsert_order(shop, to_order(o), nested ? &*nested : nullptr));
  }
  result operator()(const shopify::order_delete& o) { return wrap(w.delete_order(shop, o.order_id)); }
  result operator()(const shopify::order_edited&) { return apply_result{store::outcome::ignored}; }
  result operator()(const shopify::refund_created& r) {
    return wrap(w.record_refund(shop, r.refund_id, r.order_id, r.created_at_ms, r.amount_minor));
  }
  result operator()(const shopify::customer_upsert& c) {
    return wrap(w.upsert_customer(shop, to_profile(c.customer), store::profile_source::customer_payload));
  }
  result operator()(const shopify::customer_delete& c) {
    return wrap(w.delete_customer(shop, c.customer_id));
  }
  result operator()(const shopify::customer_merge& m) {
    if (!m.completed) return apply_result{store::outcome::ignored};
    return wrap(w.merge_customers(shop, m.kept_id, m.deleted_id));
  }
  result operator()(const shopify::tags_change& t) {
    return wrap(w.change_tags(shop, t.customer_id, t.added, t.tags, t.occurred_at_ms));
  }
  result operator()(const shopify::purchasing_summary& s) {
    return wrap(w.record_purchasing_summary(shop, s.customer_id, s.amount_spent_minor, s.currency,
                                            s.number_of_orders, s.occurred_at_ms));
  }
  result operator()(const shopify::data_request& d) {
    return wrap(w.record_data_request(shop, d.customer_id, webhook_id, at_ms));
  }
  result operator()(const shopify::customer_redact& r) {
    return wrap(w.redact_customer(shop, r.customer_id, r.orders_to_redact, at_ms), true);
  }
  result operator()(const shopify::shop_redact&) { return wrap(w.redact_shop(shop, at_ms), true); }
  result operator()(const shopify::app_uninstalled&) { return wrap(w.mark_uninstalled(shop, at_ms)); }
  result operator()(const shopify::unknown_topic&) { return apply_result{store::outcome::ignored}; }
};

}  // namespace

std::optional<store::import_item> import_item_of(shopify::event&& event) {
  store::import_item item;
  if (auto* o = std::get_if<shopify::order_upsert>(&event)) {
    if (o->customer) {
      item.profile = to_profile(*o->customer);
      item.profile->tags.reset();  // tags come only from customers/* payloads
    }
    item.order = to_order(std::move(*o));
    return item;
  }
  if (auto* c = std::get_if<shopify::customer_upsert>(&event)) {
    item.profile = to_profile(std::move(c->customer));
    return item;
  }
  return std::nullopt;
}

store::result<apply_result> apply_event(store::writer& w, std::string_view shop,
                                        std::string_view webhook_id, std::int64_t received_at_ms,
                                        const shopify::event& event) {
  return std::visit(applier{w, shop, webhook_id, received_at_ms}, event);
}

}  // namespace shopsegd
