#pragma once
// The operator's console (console_routes.cpp: sessions, sign-in, /admin/act; console_pages.cpp:
// the pages). A page reads through the admin API's GET routes with the signed-in operator as the
// actor, and its forms post to /admin/act, which calls the admin route they name the same way:
// the console has no second way to read or change anything.

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "keysat/api/app.hpp"

namespace keysat::api {

struct ConsoleOperator; // the signed-in operator: actor, session, CSRF token

// What a page renders with: the admin API as this operator, and the forms that post to it.
class ConsoleView {
  public:
    ConsoleView(const App& app, const http::Server& server, db::Database& db,
                const ConsoleOperator& op, const http::Request& req);

    struct Answer {
        int status = 0;
        nlohmann::json body;
        std::string message; // the refusal's message when status is not 200
    };
    // GET of an admin route as this operator.
    Answer get(const std::string& path,
               const std::multimap<std::string, std::string>& query = {}) const;
    // Whether the operator holds `scope` / is the master.
    bool may(const std::string& scope) const;
    bool is_master() const;

    // A form that posts `inner_html`'s fields to /admin/act as `method path` (then back to
    // `back`). Special fields inside: _show (an answer field shown once), _title, _done (the
    // message shown back on `back`).
    std::string form(const std::string& method, const std::string& path, const std::string& back,
                     const std::string& inner_html, const std::string& css_class = "card") const;
    // A one-button form with hidden `fields` (strings, or the JSON text of other values).
    std::string button(const std::string& method, const std::string& path, const std::string& back,
                       const std::string& label,
                       const nlohmann::json& fields = nlohmann::json::object()) const;
    // The page: frame, navigation (`current` marked), the ?done= notice, then `main_html`.
    // `also_post_to`: an origin the page's forms may lead to besides this server (BTCPay's,
    // where the connect form's answer redirects).
    http::Response page(const std::string& title, const std::string& current,
                        const std::string& main_html, int status = 200,
                        const std::string& also_post_to = "") const;
    // A refused read, as a notice.
    std::string refusal(const Answer& a) const;

    const App& app;
    const http::Server& server;
    db::Database& db;
    const ConsoleOperator& op;
    const http::Request& req;
};

// A table column: `field` of each row as text, or what `render` makes of the row (text; escaped
// by the table).
struct Column {
    std::string label;
    std::string field;
    std::function<std::string(const nlohmann::json&)> render = {};
    // When set, the cell links to this path (a console page; escaped by the table).
    std::function<std::string(const nlohmann::json&)> href = {};
};

// A JSON value as a table shows it: strings as they are, booleans yes/no, arrays comma-joined.
std::string cell_text(const nlohmann::json& v);
// An accessible table of `rows` (a JSON array), with per-row `actions` HTML when set.
std::string table(const nlohmann::json& rows, const std::vector<Column>& columns,
                  const std::function<std::string(const nlohmann::json&)>& actions,
                  const std::string& empty_text);
// Labelled inputs. `name` may carry /admin/act's type suffix (":int", ":list", ...). `extra` is
// raw attribute text (" required", " min=\"0\"") written by the caller, never from data;
// `value` (escaped here) is what the input starts with.
std::string field(const std::string& label, const std::string& name,
                  const std::string& type = "text", const std::string& extra = "",
                  const std::string& value = "");
std::string checkbox(const std::string& label, const std::string& name, bool checked = false);
// A labelled multi-line field starting with `value`, with a `hint` under its label.
std::string textarea(const std::string& label, const std::string& name, const std::string& value,
                     const std::string& hint);
std::string select(const std::string& label, const std::string& name,
                   const std::vector<std::pair<std::string, std::string>>& options,
                   const std::string& selected = "");

using Query = std::multimap<std::string, std::string>;
// A titled section of a page (`body` escaped by the caller).
std::string section(const std::string& heading, const std::string& body);
// A list from an admin route: its `key` rows as a table, or the refusal as a notice.
std::string listing(const ConsoleView& v, const std::string& path, const Query& query,
                    const std::string& key, const std::vector<Column>& columns,
                    const std::function<std::string(const nlohmann::json&)>& actions,
                    const std::string& empty_text);
// A form (from ConsoleView::form) that sends a file: multipart instead of URL-encoded.
std::string replace_form_type(std::string form_html);
// The hidden field naming the message /admin/act shows back after the change (one of
// is_done_message's).
std::string hidden_done(const std::string& message);
// A row's "id".
std::string id_of(const nlohmann::json& row);

// The origin the operator's browser reaches BTCPay at (btcpay_browser_url, else btcpay_url);
// empty when neither is set. The payments page may post forms there (the connect's redirect).
std::string btcpay_browser_origin(const App& app);

// Pages in console_commerce_pages.cpp: invoices, payments (providers, merchant profiles, rail
// preferences), releases, one discount code.
http::Response invoices_page(const ConsoleView& v);
http::Response payments_page(const ConsoleView& v);
http::Response releases_page(const ConsoleView& v);
http::Response code_page(const ConsoleView& v);

// Whether `text` is one of the messages the console's forms show back after a change (a ?done=
// link shows nothing else, so no link can put words of its own on the console).
bool is_done_message(const std::string& text);

// The console's pages: path (a regular expression; captures reach the page as the request's
// params), renderer.
using ConsolePage = std::function<http::Response(const ConsoleView&)>;
const std::vector<std::pair<std::string, ConsolePage>>& console_pages();

} // namespace keysat::api
