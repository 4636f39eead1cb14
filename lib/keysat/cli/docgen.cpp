#include "keysat/cli/docgen.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace keysat::cli {

namespace {

// What the generators need to know about one option.
struct OptionInfo {
    std::vector<std::string> shorts; // without '-'
    std::vector<std::string> longs;  // without '--'
    std::string positional;          // name when positional
    std::string metavar;             // e.g. FILE; empty for flags
    std::vector<std::string> choices;
    std::string description;
    std::string default_value;
    bool required = false;
    bool repeatable = false;

    bool is_flag() const { return metavar.empty() && positional.empty(); }
    // Whether a value of this option names a file.
    bool takes_path() const {
        return metavar == "FILE" || metavar == "KEY" || metavar == "SIGFILE" || metavar == "NAME" ||
               metavar == "DIR" || metavar == "INPUT";
    }
    std::vector<std::string> spellings() const {
        std::vector<std::string> s;
        for (auto& n : shorts)
            s.push_back("-" + n);
        for (auto& n : longs)
            s.push_back("--" + n);
        return s;
    }
};

OptionInfo describe_option(const CLI::Option* opt) {
    OptionInfo info;
    info.shorts = opt->get_snames();
    info.longs = opt->get_lnames();
    if (opt->get_positional() && !opt->nonpositional())
        info.positional = opt->get_name(true);
    std::string type = opt->get_type_name();
    if (opt->get_items_expected_max() > 0 && !type.empty()) {
        info.metavar = type.substr(0, type.find(':'));
        auto open = type.find('{');
        auto close = type.find('}', open);
        if (open != std::string::npos && close != std::string::npos) {
            std::string list = type.substr(open + 1, close - open - 1);
            std::size_t pos = 0;
            while (pos <= list.size()) {
                auto comma = list.find(',', pos);
                info.choices.push_back(list.substr(pos, comma - pos));
                if (comma == std::string::npos)
                    break;
                pos = comma + 1;
            }
        }
    }
    info.description = opt->get_description();
    info.default_value = opt->get_default_str();
    info.required = opt->get_required();
    info.repeatable = opt->get_expected_max() > 1 || opt->get_items_expected_max() > 1;
    return info;
}

std::vector<OptionInfo> options_of(const CLI::App& app) {
    std::vector<OptionInfo> out;
    for (const CLI::Option* opt : app.get_options())
        out.push_back(describe_option(opt));
    return out;
}

std::vector<const CLI::App*> subcommands_of(const CLI::App& app) {
    return app.get_subcommands([](const CLI::App*) { return true; });
}

std::string roff_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
    }
    if (!out.empty() && (out[0] == '.' || out[0] == '\''))
        out.insert(0, "\\&");
    return out;
}

std::string roff_option_head(const OptionInfo& o) {
    if (!o.positional.empty())
        return fmt::format("\\fI{}\\fR", roff_escape(o.metavar.empty() ? o.positional : o.metavar));
    std::vector<std::string> names;
    for (auto& s : o.spellings())
        names.push_back(fmt::format("\\fB{}\\fR", roff_escape(s)));
    std::string head = fmt::format("{}", fmt::join(names, ", "));
    if (!o.metavar.empty())
        head += fmt::format(" \\fI{}\\fR", roff_escape(o.metavar));
    return head;
}

std::string synopsis_of(const std::string& tool, const CLI::App& sub) {
    std::string s = fmt::format("\\fB{}\\fR \\fB{}\\fR", tool, sub.get_name());
    for (const auto& o : options_of(sub)) {
        if (!o.positional.empty() || o.longs == std::vector<std::string>{"help"})
            continue;
        std::string name = o.spellings().front();
        std::string item = fmt::format("\\fB{}\\fR", roff_escape(name));
        if (!o.metavar.empty())
            item += fmt::format(" \\fI{}\\fR", roff_escape(o.metavar));
        s += o.required ? " " + item : " [" + item + "]";
        if (o.repeatable)
            s += "...";
    }
    for (const auto& o : options_of(sub))
        if (!o.positional.empty())
            s += fmt::format(" \\fI{}\\fR{}", roff_escape(o.metavar), o.repeatable ? "..." : "");
    return s;
}

std::string man_option_list(const std::vector<OptionInfo>& opts) {
    std::string out;
    for (const auto& o : opts) {
        out += ".TP\n" + roff_option_head(o) + "\n" + roff_escape(o.description);
        if (!o.choices.empty())
            out += roff_escape(fmt::format(" (one of: {})", fmt::join(o.choices, ", ")));
        if (!o.default_value.empty())
            out += roff_escape(fmt::format(" [default: {}]", o.default_value));
        if (o.required && o.positional.empty())
            out += " (required)";
        out += "\n";
    }
    return out;
}

// Quotes for a single-quoted shell string.
std::string sh_quote(std::string_view s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string function_name(const CLI::App& app) {
    std::string f = "_" + app.get_name();
    for (auto& c : f)
        if (c == '-')
            c = '_';
    return f;
}

} // namespace

std::vector<std::string> shared_options_missing_on_tool(const CLI::App& app) {
    auto subs = subcommands_of(app);
    if (subs.size() < 2)
        return {};
    auto longs_of = [](const CLI::App& a) {
        std::vector<std::string> names;
        for (const auto& o : options_of(a))
            for (const auto& l : o.longs)
                if (l != "help")
                    names.push_back(l);
        return names;
    };
    auto on_tool = longs_of(app);
    std::vector<std::string> missing;
    for (const auto& name : longs_of(*subs.front())) {
        bool everywhere = std::all_of(subs.begin(), subs.end(), [&](const CLI::App* sub) {
            auto names = longs_of(*sub);
            return std::find(names.begin(), names.end(), name) != names.end();
        });
        if (everywhere && std::find(on_tool.begin(), on_tool.end(), name) == on_tool.end())
            missing.push_back("--" + name);
    }
    return missing;
}

std::string man_generated_sections(const CLI::App& app) {
    std::string out = ".\\\" Generated by keysat-docgen from the CLI definitions; do not edit.\n";
    out += ".SH SYNOPSIS\n";
    for (const CLI::App* sub : subcommands_of(app))
        out += synopsis_of(app.get_name(), *sub) + "\n.br\n";
    out += ".SH OPTIONS\n";
    if (!subcommands_of(app).empty())
        out += "These go before the subcommand; those that every subcommand takes may also follow "
               "it.\n";
    out += man_option_list(options_of(app));
    for (const CLI::App* sub : subcommands_of(app)) {
        out += fmt::format(".SS \"{} {}\"\n{}\n", app.get_name(), sub->get_name(),
                           roff_escape(sub->get_description()));
        out += man_option_list(options_of(*sub));
    }
    out += ".\\\" End of generated sections.\n";
    return out;
}

namespace {
// The completion of one command's options and operands, as bash statements: a `case` on the
// previous word, then options or file names for the current one.
std::string bash_command_body(const CLI::App& cmd, const std::string& indent) {
    std::vector<std::string> words, path_opts, free_opts;
    bool has_positional = false;
    std::string out = indent + "case \"$prev\" in\n";
    for (const auto& o : options_of(cmd)) {
        if (!o.positional.empty()) {
            has_positional = true;
            continue;
        }
        auto sp = o.spellings();
        words.insert(words.end(), sp.begin(), sp.end());
        if (o.is_flag())
            continue;
        if (!o.choices.empty())
            out += fmt::format("{}{}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); return ;;\n",
                               indent, fmt::join(sp, "|"), fmt::join(o.choices, " "));
        else if (o.takes_path())
            path_opts.insert(path_opts.end(), sp.begin(), sp.end());
        else
            free_opts.insert(free_opts.end(), sp.begin(), sp.end());
    }
    if (!path_opts.empty())
        out += fmt::format("{}{}) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", indent,
                           fmt::join(path_opts, "|"));
    if (!free_opts.empty())
        out += fmt::format("{}{}) COMPREPLY=(); return ;;\n", indent, fmt::join(free_opts, "|"));
    out += indent + "esac\n";
    out += fmt::format(
        "{}if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n", indent,
        fmt::join(words, " "));
    out += indent + (has_positional ? "else COMPREPLY=($(compgen -f -- \"$cur\")); fi\n"
                                    : "else COMPREPLY=(); fi\n");
    return out;
}
} // namespace

std::string bash_completion(const CLI::App& app) {
    std::string fn = function_name(app);
    std::string out = fmt::format(
        "# bash completion for {}; generated by keysat-docgen, do not edit.\n", app.get_name());
    out += fmt::format("{}() {{\n", fn);
    auto subs = subcommands_of(app);
    if (subs.empty()) {
        out += "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n";
        out += bash_command_body(app, "    ");
        out += "}\n";
        out += fmt::format("complete -o filenames -F {} {}\n", fn, app.get_name());
        return out;
    }
    std::vector<std::string> sub_names;
    for (const CLI::App* sub : subs)
        sub_names.push_back(sub->get_name());
    std::vector<std::string> top_words;
    for (const auto& o : options_of(app))
        for (auto& sp : o.spellings())
            top_words.push_back(sp);
    out +=
        "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\" sub= i\n";
    out += "    for ((i = 1; i < COMP_CWORD; i++)); do\n";
    out += fmt::format(
        "        case \"${{COMP_WORDS[i]}}\" in {}) sub=\"${{COMP_WORDS[i]}}\"; break ;; esac\n",
        fmt::join(sub_names, "|"));
    out += "    done\n    case \"$sub\" in\n";
    out += fmt::format(
        "    \"\")\n        COMPREPLY=($(compgen -W \"{} {}\" -- \"$cur\"))\n        return ;;\n",
        fmt::join(sub_names, " "), fmt::join(top_words, " "));
    for (const CLI::App* sub : subs)
        out += fmt::format("    {})\n{}        ;;\n", sub->get_name(),
                           bash_command_body(*sub, "        "));
    out += "    esac\n}\n";
    out += fmt::format("complete -o filenames -F {} {}\n", fn, app.get_name());
    return out;
}

namespace {
std::string zsh_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '[' || c == ']' || c == ':' || c == '\\')
            out += '\\';
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out;
}

std::string zsh_spec(const OptionInfo& o) {
    auto sp = o.spellings();
    std::string action;
    if (!o.is_flag()) {
        std::string what = !o.choices.empty() ? fmt::format("({})", fmt::join(o.choices, " "))
                           : o.takes_path()   ? std::string("_files")
                                              : std::string(" ");
        action = fmt::format(":{}:{}", zsh_escape(o.metavar), what);
    }
    std::string desc = "[" + zsh_escape(o.description) + "]";
    std::string rep = o.repeatable ? "*" : "";
    if (sp.size() == 1)
        return fmt::format("'{}{}{}{}'", rep, sp[0], desc, action);
    std::string excl = o.repeatable ? "" : fmt::format("({})", fmt::join(sp, " "));
    return fmt::format("'{}'{}{{{}}}'{}{}'", excl, rep, fmt::join(sp, ","), desc, action);
}
} // namespace

std::string zsh_completion(const CLI::App& app) {
    std::string fn = function_name(app);
    std::string out = fmt::format(
        "#compdef {}\n# zsh completion for {}; generated by keysat-docgen, do not edit.\n\n",
        app.get_name(), app.get_name());
    if (subcommands_of(app).empty()) {
        out += fmt::format("{}() {{\n    _arguments \\\n", fn);
        for (const auto& o : options_of(app))
            out += "        " + zsh_spec(o) + " \\\n";
        out += "        && return 0\n}\n\n";
        out += fmt::format("{} \"$@\"\n", fn);
        return out;
    }
    out += fmt::format("{}() {{\n    local line state\n    _arguments -C \\\n", fn);
    for (const auto& o : options_of(app))
        out += "        " + zsh_spec(o) + " \\\n";
    out += "        '1: :->command' \\\n        '*:: :->args'\n";
    out += "    case $state in\n    command)\n        local -a commands\n        commands=(\n";
    for (const CLI::App* sub : subcommands_of(app))
        out += fmt::format("            '{}:{}'\n", sub->get_name(),
                           zsh_escape(sub->get_description()));
    out +=
        "        )\n        _describe 'command' commands ;;\n    args)\n        case $line[1] in\n";
    for (const CLI::App* sub : subcommands_of(app)) {
        out += fmt::format("        {})\n            _arguments \\\n", sub->get_name());
        for (const auto& o : options_of(*sub)) {
            if (!o.positional.empty())
                out += fmt::format("                '{}:{}:_files' \\\n", o.repeatable ? "*" : "1",
                                   zsh_escape(o.metavar));
            else
                out += "                " + zsh_spec(o) + " \\\n";
        }
        out += "                && return 0 ;;\n";
    }
    out += "        esac ;;\n    esac\n}\n\n";
    out += fmt::format("{} \"$@\"\n", fn);
    return out;
}

std::string fish_completion(const CLI::App& app) {
    const std::string& name = app.get_name();
    std::vector<std::string> sub_names;
    for (const CLI::App* sub : subcommands_of(app))
        sub_names.push_back(sub->get_name());
    std::string out =
        fmt::format("# fish completion for {}; generated by keysat-docgen, do not edit.\n", name);
    out += fmt::format("complete -c {} -f\n", name);
    auto emit = [&](const OptionInfo& o, const std::string& condition) {
        if (!o.positional.empty())
            return;
        std::string line = fmt::format("complete -c {} -n {}", name, sh_quote(condition));
        for (auto& s : o.shorts)
            line += " -s " + s;
        for (auto& l : o.longs)
            line += " -l " + l;
        if (!o.choices.empty())
            line +=
                fmt::format(" -x -a {}", sh_quote(fmt::format("{}", fmt::join(o.choices, " "))));
        else if (!o.is_flag())
            line += o.takes_path() ? " -r -F" : " -x";
        line += " -d " + sh_quote(o.description);
        out += line + "\n";
    };
    if (sub_names.empty()) {
        for (const auto& o : options_of(app))
            emit(o, "true");
        return out;
    }
    std::string no_sub =
        fmt::format("not __fish_seen_subcommand_from {}", fmt::join(sub_names, " "));
    for (const auto& o : options_of(app))
        emit(o, no_sub);
    for (const CLI::App* sub : subcommands_of(app))
        out += fmt::format("complete -c {} -n {} -a {} -d {}\n", name, sh_quote(no_sub),
                           sub->get_name(), sh_quote(sub->get_description()));
    for (const CLI::App* sub : subcommands_of(app)) {
        std::string cond = "__fish_seen_subcommand_from " + sub->get_name();
        bool positional_files = false;
        for (const auto& o : options_of(*sub)) {
            emit(o, cond);
            positional_files = positional_files || !o.positional.empty();
        }
        if (positional_files)
            out += fmt::format("complete -c {} -n {} -F\n", name, sh_quote(cond));
    }
    return out;
}

} // namespace keysat::cli
