// server/cli/commands/publish.cpp — `localdx publish`: upload a signed bundle to a LocalDx server.
#include <httplib.h>

#include <cstdio>

#include "base/json.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "io/files.h"

namespace ldx::cli {

namespace {
const char* kPublishHelp = R"(Usage: localdx publish --server URL --token-file FILE FILE.ldxb

Uploads the bundle to URL (http://host:port or https://host:port) as POST /api/v1/bundles with
the administrator's bearer token read from FILE. The server verifies the signatures against its
own trust root and refuses a version that is not higher than the latest it has for that name.
Exit 0 when the server stored it; otherwise the server's reason and exit 1.
)";
}  // namespace

int cmd_publish(const Args& a) {
    if (a.has("--help")) {
        std::fputs(kPublishHelp, stdout);
        return 0;
    }
    auto fail = [](const std::string& msg) {
        std::fprintf(stderr, "localdx publish: %s\n", msg.c_str());
        return 1;
    };
    auto server = args_require(a, "--server");
    auto token_file = args_require(a, "--token-file");
    if (!server) return fail(server.error().message);
    if (!token_file) return fail(token_file.error().message);
    if (a.positional.size() != 1) return fail("give exactly one bundle file (see --help)");
    auto token = file_read(*token_file, 4096);
    if (!token) return fail(token.error().message);
    std::string t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) return fail(*token_file + " is empty");
    auto bytes = file_read(a.positional[0]);
    if (!bytes) return fail(bytes.error().message);

    std::string url = *server;
    while (url.size() > 1 && url.back() == '/') url.pop_back();  // "http://host:8080/" names the same server
    httplib::Client cli(url);
    if (!cli.is_valid()) return fail("cannot use server URL '" + *server + "'");
    cli.set_connection_timeout(10);
    cli.set_read_timeout(120);
    cli.set_bearer_token_auth(t.c_str());
    auto res = cli.Post("/api/v1/bundles", *bytes, "application/octet-stream");
    if (!res) return fail("cannot reach " + *server + ": " + httplib::to_string(res.error()));
    auto body = json_parse(res->body, "server answer");
    if (res->status >= 200 && res->status < 300) {
        const bool already = body && body->is_object() && body->value("already_published", false);
        std::printf("%s: %s\n", already ? "already published" : "published",
                    body ? json_dump(*body).c_str() : res->body.c_str());
        return 0;
    }
    // The server's reasons, from its error body {"ok": false, "problems": [...]}; else the body as sent.
    std::string reason;
    if (body)
        for (const Problem& p : problems_from_json(*body)) reason += (reason.empty() ? "" : "; ") + p.describe();
    if (reason.empty()) reason = res->body;
    return fail("the server refused the bundle (HTTP " + std::to_string(res->status) + "): " + reason);
}

}  // namespace ldx::cli
