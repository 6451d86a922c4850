// [[segment]] and [[order_flag]] tables: names, tiers, services and queries parsed where they
// stand in the file, so a query's errors point at its file:line:col.
#include <cctype>
#include <map>
#include <set>

#include "config_reader.hpp"

namespace shopsegd::detail {
namespace {

// The query of a [[segment]] or [[order_flag]], parsed where it stands in the file.
std::shared_ptr<const rules::query> read_query(reader& r, const toml::table& t, std::string_view section,
                                               std::string& text, rules::subject about) {
  auto* n = t.get("query");
  if (!n) {
    r.error(t.source(), fmt::format("[[{}]] needs a query", section));
    return nullptr;
  }
  auto v = n->value_exact<std::string>();
  if (!v) {
    r.error(n->source(), "'query' must be a string");
    return nullptr;
  }
  text = *v;
  auto parsed = rules::parse(text, {r.source(), r.string_content_start(n->source())}, about);
  if (!parsed) {
    r.add(std::move(parsed.error().messages));
    return nullptr;
  }
  return std::make_shared<const rules::query>(std::move(*parsed));
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name)
    if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_'))
      return false;
  return true;
}

const toml::array* array_of_tables(reader& r, const toml::table& root, std::string_view key) {
  auto* n = root.get(key);
  if (!n) return nullptr;
  auto* arr = n->as_array();
  if (!arr) r.error(n->source(), fmt::format("'{0}' must be an array of tables ([[{0}]])", key));
  return arr;
}

}  // namespace

// A TOML string, integer or boolean as a JSON literal (service attributes are rendered into
// answers as they are).
std::optional<std::string> json_literal(const toml::node& node) {
  if (auto s = node.value_exact<std::string>()) {
    std::string out = "\"";
    for (char ch : *s) {
      if (ch == '"' || ch == '\\') out += '\\';
      if (static_cast<unsigned char>(ch) < 0x20) continue;
      out += ch;
    }
    return out + "\"";
  }
  if (auto i = node.value_exact<std::int64_t>()) return std::to_string(*i);
  if (auto b = node.value_exact<bool>()) return *b ? "true" : "false";
  return std::nullopt;
}

service_attributes read_service(reader& r, const toml::table& t, std::string_view section) {
  service_attributes out;
  for (const auto& [key, node] : t) {
    if (auto literal = json_literal(node)) out.emplace_back(std::string(key.str()), *literal);
    else r.error(node.source(), fmt::format("[{}] values must be strings, integers or booleans", section));
  }
  return out;
}

void read_segments(reader& r, const toml::table& root, config& c) {
  auto* arr = array_of_tables(r, root, "segment");
  if (!arr) return;
  std::map<std::string, const toml::node*> names;
  std::map<std::int64_t, std::string> tiers;
  for (const auto& item : *arr) {
    auto* t = item.as_table();
    if (!t) { r.error(item.source(), "[[segment]] entries must be tables"); continue; }
    r.check_keys(*t, {"name", "query", "tier", "service"}, "[segment]");
    segment_config seg;
    r.get(*t, "name", seg.name);
    auto* name_node = t->get("name");
    if (!valid_name(seg.name))
      r.error(name_node ? name_node->source() : t->source(),
              "[[segment]] name must be 1-64 characters of a-z, 0-9, '-' and '_', got '" + seg.name + "'");
    else if (!names.emplace(seg.name, name_node).second)
      r.error(name_node->source(), "segment '" + seg.name + "' is defined twice");
    if (auto* tier = t->get("tier")) {
      int value = 0;
      r.get(*t, "tier", value, 1, 1000);
      seg.tier = value;
      if (auto [it, fresh] = tiers.emplace(value, seg.name); !fresh)
        r.error(tier->source(), "tier " + std::to_string(value) + " of segment '" + seg.name +
                                    "' is already the tier of '" + it->second + "': tiers are exclusive, give each a distinct number");
    }
    seg.query = read_query(r, *t, "segment", seg.query_text, rules::subject::customer);
    if (auto* service = t->get("service")) {
      if (auto* st = service->as_table()) seg.service = read_service(r, *st, "segment.service");
      else r.error(service->source(), "[segment.service] must be a table");
    }
    c.segments.push_back(std::move(seg));
  }
}

void read_order_flags(reader& r, const toml::table& root, config& c) {
  auto* arr = array_of_tables(r, root, "order_flag");
  if (!arr) return;
  std::set<std::string> names;
  for (const auto& item : *arr) {
    auto* t = item.as_table();
    if (!t) { r.error(item.source(), "[[order_flag]] entries must be tables"); continue; }
    r.check_keys(*t, {"name", "query", "tag", "escalate_to", "within_minutes"}, "[order_flag]");
    order_flag_config flag;
    r.get(*t, "name", flag.name);
    auto* name_node = t->get("name");
    if (!valid_name(flag.name))
      r.error(name_node ? name_node->source() : t->source(),
              "[[order_flag]] name must be 1-64 characters of a-z, 0-9, '-' and '_', got '" + flag.name + "'");
    else if (!names.insert(flag.name).second)
      r.error(name_node->source(), "order flag '" + flag.name + "' is defined twice");
    r.get(*t, "tag", flag.tag);
    r.get(*t, "escalate_to", flag.escalate_to);
    if (t->get("within_minutes")) {
      int minutes = 0;
      r.get(*t, "within_minutes", minutes, 0, 525600);
      flag.within_minutes = minutes;
    }
    flag.query = read_query(r, *t, "order_flag", flag.query_text, rules::subject::order);
    c.order_flags.push_back(std::move(flag));
  }
}

}  // namespace shopsegd::detail
