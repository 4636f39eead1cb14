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
    http::Response page(const std::string& title, const std::string& current,
                        const std::string& main_html, int status = 200) const;
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
// raw attribute text (" required", " min=\"0\"") written by the caller, never from data.
std::string field(const std::string& label, const std::string& name,
                  const std::string& type = "text", const std::string& extra = "");
std::string checkbox(const std::string& label, const std::string& name);
std::string select(const std::string& label, const std::string& name,
                   const std::vector<std::pair<std::string, std::string>>& options);

// Whether `text` is one of the messages the console's forms show back after a change (a ?done=
// link shows nothing else, so no link can put words of its own on the console).
bool is_done_message(const std::string& text);

// The console's pages: path (a regular expression; captures reach the page as the request's
// params), renderer.
using ConsolePage = std::function<http::Response(const ConsoleView&)>;
const std::vector<std::pair<std::string, ConsolePage>>& console_pages();

} // namespace keysat::api
