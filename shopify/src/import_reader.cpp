// import_reader: one line (or page) at a time, bulk-operation JSONL and REST shapes, with the
// children that wait for their parent.
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "decode_topics.hpp"
#include "import_bulk.hpp"
#include "shopify/import.hpp"

namespace shopify {
namespace {

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view blanks = " \t\r\n";
  const std::size_t first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

// A REST object on a line of its own: an order has order-only fields, anything else is taken
// for a customer (whose payload has none of them).
bool looks_like_rest_order(simdjson::dom::object object) {
  for (std::string_view key : {"line_items", "order_number", "current_total_price", "current_total_price_set",
                               "total_price", "financial_status", "processed_at"}) {
    simdjson::dom::element value;
    if (object.at_key(key).get(value) == simdjson::SUCCESS) return true;
  }
  return false;
}

}  // namespace

struct import_reader::impl {
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> buffer;
  std::size_t capacity = 0;
  std::unordered_set<id_t> seen_customers;
  // Orders waiting for their customer's line, by customer id.
  std::unordered_map<id_t, std::vector<import_record>> waiting;
  std::multiset<std::pair<std::uint64_t, std::uint64_t>> waiting_offsets;  // (offset, line)

  std::string_view padded_copy(std::string_view text) {
    if (capacity < text.size() + simdjson::SIMDJSON_PADDING) {
      capacity = text.size() + simdjson::SIMDJSON_PADDING;
      buffer = std::make_unique<char[]>(capacity);
    }
    if (!text.empty()) std::memcpy(buffer.get(), text.data(), text.size());
    std::memset(buffer.get() + text.size(), 0, simdjson::SIMDJSON_PADDING);
    return {buffer.get(), text.size()};
  }

  void reject(import_output& out, std::uint64_t line, std::string reason) {
    out.rejected.push_back({line, std::move(reason)});
  }

  void rest_object(simdjson::dom::object object, bool order, std::uint64_t line, std::uint64_t offset,
                   import_output& out, std::string_view path) {
    std::optional<decode_error> failure;
    detail::object_reader reader(object, std::string(path), failure);
    event e = order ? detail::decode_order_upsert(reader, topic::orders_updated)
                    : detail::decode_customer_upsert(reader, topic::customers_update);
    if (failure) return reject(out, line, std::move(failure->reason));
    out.records.push_back({line, offset, std::move(e)});
  }

  void page(simdjson::dom::object root, std::uint64_t line, std::uint64_t offset, import_output& out) {
    for (std::string_view key : {"orders", "customers"}) {
      simdjson::dom::element list;
      if (root.at_key(key).get(list) != simdjson::SUCCESS) continue;
      simdjson::dom::array array;
      if (list.get_array().get(array) != simdjson::SUCCESS) return reject(out, line, std::string(key) + ": not an array");
      std::size_t index = 0;
      for (simdjson::dom::element item : array) {
        const std::string path = std::string(key) + "[" + std::to_string(index++) + "]";
        simdjson::dom::object object;
        if (item.get_object().get(object) != simdjson::SUCCESS) {
          reject(out, line, path + ": not an object");
          continue;
        }
        rest_object(object, key == "orders", line, offset, out, path);
      }
    }
  }

  void customer_seen(id_t id, import_output& out) {
    seen_customers.insert(id);
    auto found = waiting.find(id);
    if (found == waiting.end()) return;
    for (auto& record : found->second) {
      waiting_offsets.erase(waiting_offsets.find({record.offset, record.line}));
      out.records.push_back(std::move(record));
    }
    waiting.erase(found);
  }

  void bulk(simdjson::dom::object object, std::uint64_t line, std::uint64_t offset, import_output& out) {
    std::optional<decode_error> failure;
    detail::object_reader reader(object, "", failure);
    detail::bulk_line decoded = detail::decode_bulk_line(reader);
    if (failure) return reject(out, line, std::move(failure->reason));
    if (decoded.kind == detail::bulk_kind::other) {
      ++out.skipped;
      return;
    }
    import_record record{line, offset, std::move(decoded.value)};
    if (decoded.kind == detail::bulk_kind::customer) {
      const id_t id = std::get<customer_upsert>(record.value).customer.customer_id;
      out.records.push_back(std::move(record));
      return customer_seen(id, out);
    }
    if (!decoded.parent_customer || seen_customers.contains(*decoded.parent_customer)) {
      out.records.push_back(std::move(record));
      return;
    }
    waiting_offsets.insert({offset, line});
    waiting[*decoded.parent_customer].push_back(std::move(record));
  }
};

import_reader::import_reader() : impl_(std::make_unique<impl>()) {}
import_reader::~import_reader() = default;
import_reader::import_reader(import_reader&&) noexcept = default;
import_reader& import_reader::operator=(import_reader&&) noexcept = default;

void import_reader::feed_line(std::string_view text, std::uint64_t line, std::uint64_t offset, import_output& out) {
  text = trim(text);
  if (text.empty()) return;
  const std::string_view copy = impl_->padded_copy(text);
  simdjson::dom::element root;
  if (const auto error = impl_->parser.parse(copy.data(), copy.size(), false).get(root))
    return impl_->reject(out, line, std::string("invalid JSON: ") + simdjson::error_message(error));
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return impl_->reject(out, line, "not a JSON object");
  simdjson::dom::element id;
  if (object.at_key("id").get(id) != simdjson::SUCCESS) {
    simdjson::dom::element list;
    if (object.at_key("orders").get(list) == simdjson::SUCCESS ||
        object.at_key("customers").get(list) == simdjson::SUCCESS)
      return impl_->page(object, line, offset, out);
    return impl_->reject(out, line, "id: missing");
  }
  std::string_view gid;
  if (id.get_string().get(gid) == simdjson::SUCCESS && gid.starts_with("gid://shopify/"))
    return impl_->bulk(object, line, offset, out);
  impl_->rest_object(object, looks_like_rest_order(object), line, offset, out, "");
}

bool import_reader::feed_page(std::string_view document, std::uint64_t line, std::uint64_t offset,
                              import_output& out) {
  const std::string_view copy = impl_->padded_copy(document);
  simdjson::dom::element root;
  if (impl_->parser.parse(copy.data(), copy.size(), false).get(root) != simdjson::SUCCESS) return false;
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return false;
  simdjson::dom::element list;
  if (object.at_key("orders").get(list) != simdjson::SUCCESS &&
      object.at_key("customers").get(list) != simdjson::SUCCESS)
    return false;
  impl_->page(object, line, offset, out);
  return true;
}

std::uint64_t import_reader::finish(import_output& out) {
  std::vector<import_record> orphans;
  for (auto& [customer, records] : impl_->waiting)
    for (auto& record : records) orphans.push_back(std::move(record));
  impl_->waiting.clear();
  impl_->waiting_offsets.clear();
  // In input order, so that what follows does not depend on the hash map's.
  std::sort(orphans.begin(), orphans.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
  for (auto& record : orphans) out.records.push_back(std::move(record));
  return orphans.size();
}

std::optional<import_reader::position> import_reader::oldest_pending() const {
  if (impl_->waiting_offsets.empty()) return std::nullopt;
  const auto& [offset, line] = *impl_->waiting_offsets.begin();
  return position{line, offset};
}

bool starts_multiline_page(std::string_view first_line) {
  first_line = trim(first_line);
  if (first_line.empty() || first_line.front() != '{') return false;
  simdjson::dom::parser parser;
  simdjson::padded_string copy(first_line);
  simdjson::dom::element root;
  return parser.parse(copy).get(root) != simdjson::SUCCESS;
}

}  // namespace shopify
