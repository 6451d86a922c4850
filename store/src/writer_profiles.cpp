// Profile records applied to a customer row with per-field versions (docs/profile_versions.md),
// in SQL (apply_profile) or, for an order's nested customer, in memory at the refresh that
// rewrites the row anyway (defer_profile, merge_profiles).
//
// Why the deferral: every order delivery carries its customer, whose newer updated_at makes
// the upsert rewrite the row; the refresh then rewrote it again for the aggregates. Folding the
// profile into the refresh's write leaves one row write per customer and batch instead of one
// per delivery plus one, and the upsert's expression-heavy statement was the writer's most
// expensive one (about 30,000 instructions, more than the refresh's read or its write).
#include "writer_impl.hpp"

namespace store {

std::int64_t detail::profile_key(std::int64_t updated_at_ms, profile_source source) {
  return updated_at_ms * 2 + (source == profile_source::customer_payload ? 1 : 0);
}

namespace {

// Whether a record (key ?11) that carries `value` wins the field over the stored one (see
// docs/profile_versions.md): a field no record carried yet, a newer key, or the same key and a
// greater value, so that two different records of one version agree whichever came first.
// versioned_field::offer (writer_impl.hpp) is the same rule in memory.
std::string field_wins(const char* param, const char* column, const char* version) {
  return std::string("(") + param + " IS NOT NULL AND (" + version + " IS NULL OR ?11 > " +
         version + " OR (?11 = " + version + " AND " + param + " > " + column + ")))";
}

std::string apply_profile_sql() {
  struct field {
    const char *param, *column, *version;
  };
  constexpr field fields[] = {
      {"?3", "profile_email", "email_version"},   {"?4", "phone", "phone_version"},
      {"?5", "first_name", "first_name_version"}, {"?6", "last_name", "last_name_version"},
      {"?7", "state", "state_version"},           {"?8", "created_at_ms", "created_at_version"}};
  std::string sql =
      "INSERT INTO customers(shop, customer_id, email, email_lower, profile_email, phone, "
      "first_name, last_name, state, created_at_ms, profile_version_ms, "
      "profile_from_customer_payload, email_version, phone_version, first_name_version, "
      "last_name_version, state_version, created_at_version) VALUES(?1, ?2, ?3, lower(?3), ?3, "
      "?4, ?5, ?6, ?7, ?8, ?9, ?10";
  for (const field& f : fields) sql += std::string(", iif(") + f.param + " IS NULL, NULL, ?11)";
  sql += ") ON CONFLICT DO UPDATE SET ";
  std::string any_wins;
  for (const field& f : fields) {
    const std::string wins = field_wins(f.param, f.column, f.version);
    sql += std::string(f.column) + " = iif(" + wins + ", " + f.param + ", " + f.column + "), " +
           f.version + " = iif(" + wins + ", ?11, " + f.version + "), ";
    any_wins += wins + " OR ";
  }
  return sql +
         "profile_version_ms = max(profile_version_ms, ?9), profile_from_customer_payload = "
         "max(profile_from_customer_payload, ?10) WHERE " +
         any_wins + "?9 > profile_version_ms OR ?10 > profile_from_customer_payload";
}

}  // namespace

result<outcome> detail::writer_state::apply_profile(std::string_view shop, id_t customer_id,
                                                    const profile_record& profile,
                                                    profile_source source) {
  // Each field keeps the value of the newest record that carried it (per-field versions), so
  // the profile is the same whatever order its records arrive in. A record that changes no
  // field, version or source changes no row. The email shown (customers.email) is derived
  // from profile_email and the orders by refresh_customer.
  static const std::string sql = apply_profile_sql();
  auto s = stmt(sql.c_str());
  if (!s) return s.error();
  detail::query q(*s);
  STORE_TRY(q.bind_text(1, shop)
                .bind_id(2, customer_id)
                .bind_opt_text(3, profile.email)
                .bind_opt_text(4, profile.phone)
                .bind_opt_text(5, profile.first_name)
                .bind_opt_text(6, profile.last_name)
                .bind_opt_text(7, profile.state)
                .bind_opt_int(8, profile.created_at_ms)
                .bind_int(9, profile.updated_at_ms)
                .bind_int(10, source == profile_source::customer_payload ? 1 : 0)
                .bind_int(11, profile_key(profile.updated_at_ms, source))
                .run());
  if (db->changes() == 0) return outcome::stale;
  if (profile.phone) STORE_TRY(sync_lookup_keys(shop, customer_id));
  return outcome::applied;
}

void detail::writer_state::defer_profile(std::string_view shop, id_t customer_id,
                                         const profile_record& profile) {
  pending_profiles.push_back({{std::string(shop), customer_id}, profile});
}

result<void> detail::writer_state::flush_profiles(const customer_key* only) {
  // In arrival order, as if each had been applied when it came (the result is the same in any
  // order, but this keeps the statements what they were). A customer without a row gets it
  // from its first record, as then.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < pending_profiles.size(); ++i) {
    if (only && (pending_profiles[i].key.customer_id != only->customer_id ||
                 pending_profiles[i].key.shop != only->shop)) {
      if (kept != i) pending_profiles[kept] = std::move(pending_profiles[i]);
      ++kept;
      continue;
    }
    const pending_profile& p = pending_profiles[i];
    auto applied =
        apply_profile(p.key.shop, p.key.customer_id, p.profile, profile_source::order_payload);
    if (!applied) return applied.error();
  }
  pending_profiles.resize(kept);
  return {};
}

bool detail::writer_state::merge_profiles(const customer_key& key, stored_profile& row) {
  bool changed = false;
  std::erase_if(pending_profiles, [&](const pending_profile& p) {
    if (p.key.customer_id != key.customer_id || p.key.shop != key.shop) return false;
    const profile_record& r = p.profile;
    const std::int64_t k = profile_key(r.updated_at_ms, profile_source::order_payload);
    changed = row.email.offer(r.email, k) || changed;
    changed = row.phone.offer(r.phone, k) || changed;
    changed = row.first_name.offer(r.first_name, k) || changed;
    changed = row.last_name.offer(r.last_name, k) || changed;
    changed = row.state.offer(r.state, k) || changed;
    changed = row.created_at_ms.offer(r.created_at_ms, k) || changed;
    if (r.updated_at_ms > row.profile_version_ms) {
      row.profile_version_ms = r.updated_at_ms;
      changed = true;
    }
    return true;
  });
  return changed;
}

bool detail::writer_state::has_pending_profile(const customer_key& key) const noexcept {
  for (const auto& p : pending_profiles)
    if (p.key.customer_id == key.customer_id && p.key.shop == key.shop) return true;
  return false;
}

result<void> detail::write_row(writer_state& w, const customer_key& key, const aggregates& t,
                               std::int64_t now_ms, const std::optional<std::string>& email,
                               const stored_profile& p) {
  auto s = w.stmt(
      "UPDATE customers SET amount_spent_minor = ?3, number_of_orders = ?4, first_order_at_ms = "
      "?5, "
      "last_order_at_ms = ?6, largest_order_minor = ?7, currency = ?8, updated_at_ms = ?9, email = "
      "?10, "
      "profile_email = ?11, phone = ?12, first_name = ?13, last_name = ?14, state = ?15, "
      "created_at_ms = ?16, profile_version_ms = ?17, email_version = ?18, phone_version = ?19, "
      "first_name_version = ?20, last_name_version = ?21, state_version = ?22, "
      "created_at_version = ?23 WHERE shop = ?1 AND customer_id = ?2");
  if (!s) return s.error();
  detail::query q(*s);
  return q.bind_text(1, key.shop)
      .bind_id(2, key.customer_id)
      .bind_int(3, t.amount_spent_minor)
      .bind_int(4, t.number_of_orders)
      .bind_opt_int(5, t.first_order_at_ms)
      .bind_opt_int(6, t.last_order_at_ms)
      .bind_int(7, t.largest_order_minor)
      .bind_text(8, t.currency)
      .bind_int(9, now_ms)
      .bind_opt_text(10, email)
      .bind_opt_text(11, p.email.value)
      .bind_opt_text(12, p.phone.value)
      .bind_opt_text(13, p.first_name.value)
      .bind_opt_text(14, p.last_name.value)
      .bind_opt_text(15, p.state.value)
      .bind_opt_int(16, p.created_at_ms.value)
      .bind_int(17, p.profile_version_ms)
      .bind_opt_int(18, p.email.version)
      .bind_opt_int(19, p.phone.version)
      .bind_opt_int(20, p.first_name.version)
      .bind_opt_int(21, p.last_name.version)
      .bind_opt_int(22, p.state.version)
      .bind_opt_int(23, p.created_at_ms.version)
      .run();
}

}  // namespace store
