// Reading Shopify's export formats into the plain events webhooks decode to, for a backfill:
//
//  (a) the JSONL result of a GraphQL Admin API bulk operation: one object per line, GraphQL
//      field names, GIDs ("gid://shopify/Order/123"), money as MoneyBag
//      (`currentTotalPriceSet{shopMoney{amount currencyCode}}`). Nested connections are lines
//      of their own, linked to their parent by `__parentId` (an order under a customer's
//      `orders` connection names its customer that way);
//  (b) REST-format orders and customers (the webhook payload shapes): one object per line, or
//      a page `{"orders": [...]}` / `{"customers": [...]}` on one line or spread over the whole
//      file.
//
// Shopify documents that a child line comes after its parent, and a file assembled from
// several results may hold children before their parent: a child is kept until its parent is
// seen, then given out right after it. A line that cannot be used is a rejection (its line
// number and why) and never stops the reading.
//
// The events then travel to the daemon as "wire" lines (wire_line), REST-shaped JSON that the
// webhook decoder reads back: one decoder, one set of rules, for webhooks and imports alike.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shopify/decode.hpp"
#include "shopify/events.hpp"

namespace shopify {

// One usable record: an order_upsert or a customer_upsert.
struct import_record {
  std::uint64_t line = 0;    // 1-based line of the input it was read from
  std::uint64_t offset = 0;  // byte offset of that line's start (as the caller numbered it)
  event value;
};

struct import_rejection {
  std::uint64_t line = 0;
  std::string reason;  // names fields, never quotes values (they may be PII)
};

// What a feed gave out. Appended to, never cleared by the reader.
struct import_output {
  std::vector<import_record> records;
  std::vector<import_rejection> rejected;
  std::uint64_t skipped = 0;  // lines of other objects (line items, transactions, ...): not errors
};

class import_reader {
 public:
  import_reader();
  ~import_reader();
  import_reader(import_reader&&) noexcept;
  import_reader& operator=(import_reader&&) noexcept;

  // One line of the input (without its newline) at `line`, starting at byte `offset`. Blank
  // lines are ignored; a line holding a REST page gives all of its records.
  void feed_line(std::string_view text, std::uint64_t line, std::uint64_t offset, import_output& out);
  // A whole document that is one REST page spread over several lines, starting at `line`.
  // False (and nothing given out) when the document is not one valid JSON page: then the
  // caller reads it line by line.
  bool feed_page(std::string_view document, std::uint64_t line, std::uint64_t offset, import_output& out);
  // The end of the input: orders whose customer line never appeared. Such an order still names
  // its customer (the parent may sit before a resume point or in another file), so it is
  // given out all the same, in input order. Returns how many orders were given out that way.
  std::uint64_t finish(import_output& out);

  // The oldest line still held back (a child waiting for its parent), if any: a resume must
  // restart there at the latest.
  struct position {
    std::uint64_t line = 0;
    std::uint64_t offset = 0;
  };
  std::optional<position> oldest_pending() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// True when `text` (a file's first line) does not hold a whole JSON value but starts an
// object: the file is one page spread over several lines (feed_page).
bool starts_multiline_page(std::string_view first_line);

// A record as one line of the import wire format (newline included): "o\t" or "c\t", then the
// event as REST-shaped JSON that decoder::decode reads back unchanged (topic orders_updated or
// customers_update).
void append_wire_line(std::string& out, const event& e);

// The topic a wire line's kind letter stands for; topic::unknown for any other letter.
topic wire_topic(char kind) noexcept;

}  // namespace shopify
