/* SPDX-License-Identifier: MIT */
/* The read side on the peer port: GET /v1/names, /v1/names/NAME, /v1/nodes and /metrics. */
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "basic/log.h"
#include "daemon/manager.h"
#include "daemon/supervise.h"

static const char *kind_string(const NameView *v) {
        if (v->holder == PES_HOST_NONE || v->kind == VALUE_FREE)
                return "free";
        if (v->remaining_usec == 0)
                return "expired";
        return v->kind == VALUE_LEASE ? "held" : "reserved";
}

static json_t *name_json(const Manager *m, const NameView *v) {
        return json_pack("{s:s, s:s?, s:I, s:s, s:I, s:b}", "name", v->name, "owner",
                         v->holder ? manager_host_name(m, v->holder) : NULL, "token", (json_int_t) v->token,
                         "state", kind_string(v), "lease_remaining_usec", (json_int_t) v->remaining_usec,
                         "held_here", v->held_here);
}

static int dump(json_t *j, char **ret_body, size_t *ret_size, const char **ret_content_type) {
        char *s;

        if (!j)
                return -ENOMEM;
        s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!s)
                return -ENOMEM;
        *ret_body = s;
        *ret_size = strlen(s);
        *ret_content_type = "application/json";
        return 200;
}

static int get_names(HttpServer *s, const char *path, char **ret_body, size_t *ret_size,
                     const char **ret_content_type, void *userdata) {
        Manager *m = userdata;
        Acceptor *a = node_acceptor(m->node);
        json_t *arr = json_array();

        for (size_t i = 0; arr && a && i < acceptor_n_entries(a); i++) {
                NameView v;

                if (manager_name_view(m, acceptor_entry(a, i)->name, &v))
                        json_array_append_new(arr, name_json(m, &v));
        }
        return dump(arr, ret_body, ret_size, ret_content_type);
}

static int get_name(HttpServer *s, const char *path, char **ret_body, size_t *ret_size,
                    const char **ret_content_type, void *userdata) {
        Manager *m = userdata;
        const char *name = path + strlen("/v1/names/");
        NameView v;

        if (name[0] == '\0' || strchr(name, '/') || !manager_name_view(m, name, &v)) {
                int r = dump(json_pack("{s:s, s:s}", "error", "no such name", "name", name), ret_body, ret_size,
                             ret_content_type);

                return r < 0 ? r : 404;
        }
        return dump(name_json(m, &v), ret_body, ret_size, ret_content_type);
}

static int get_nodes(HttpServer *s, const char *path, char **ret_body, size_t *ret_size,
                     const char **ret_content_type, void *userdata) {
        Manager *m = userdata;
        uint64_t now = manager_now(m);
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < peers_count(m->peers); i++) {
                const Peer *p = peers_at(m->peers, i);

                const VoterConfig *c = &m->voters;
                /* As ListNodes says it (manager.h): the host being changed shows which way. */
                const char *role = c->phase == CONFIG_ACCEPT_WIDENED && c->changing == p->id ?
                                           (c->adding ? "voter (joining)" : "voter (leaving)") :
                                   p->voter ? "voter" : "candidate";
                uint64_t epoch = p->id == m->self ? c->epoch.n : p->epoch.n;

                json_array_append_new(
                        arr, json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, s:o, s:o}", "name", p->name, "id", (int) p->id,
                                       "address", p->address, "port", (int) p->port, "role", role, "state",
                                       peer_state_to_string(p->state), "last_contact_usec",
                                       p->id == m->self ? json_integer(0) :
                                       p->last_ok       ? json_integer((json_int_t) (now - p->last_ok)) :
                                                          json_null(),
                                       "epoch", epoch > 0 ? json_integer((json_int_t) epoch) : json_null()));
        }
        return dump(arr, ret_body, ret_size, ret_content_type);
}

static int get_metrics(HttpServer *s, const char *path, char **ret_body, size_t *ret_size,
                       const char **ret_content_type, void *userdata) {
        Manager *m = userdata;
        const HttpServerStats *st = http_server_get_stats(m->server);
        Acceptor *a = node_acceptor(m->node);
        uint64_t now = manager_now(m), held = 0;
        MetricsGauges g;
        int r;

        for (size_t i = 0; i < node_n_guards(m->node); i++)
                if (guard_lease_valid(node_guard_at(m->node, i), now))
                        held++;
        g = (MetricsGauges){
                .names_held = held,
                .names_known = a ? acceptor_n_entries(a) : 0,
                .peers_alive = peers_alive(m->peers, false),
                .peers_total = peers_count(m->peers),
                .quorate = m->quorate,
                .unauthenticated = st->unauthenticated,
                .replayed = st->replayed,
                .malformed = st->malformed,
        };
        r = metrics_render(&m->metrics, &g, ret_body, ret_size);
        if (r < 0)
                return r;
        *ret_content_type = "text/plain; version=0.0.4";
        return 200;
}

/*
 * GET /v1/units/UNIT: this host's view of a unit it supervises. 200 only while
 * the unit runs here under a tenure (a moving host polls it to know the unit is
 * active on its new owner), 503 otherwise, 404 if it is not supervised here. A
 * name a bus client waits for here answers 503 too: a leaving host may hand it
 * to this host rather than release it and let the waiters race.
 */
static int get_unit(HttpServer *s, const char *path, char **ret_body, size_t *ret_size,
                    const char **ret_content_type, void *userdata) {
        Manager *m = userdata;
        const char *unit = path + strlen("/v1/units/");
        Supervised *u = unit[0] && !strchr(unit, '/') ? supervise_find(m, unit) : NULL;
        int r;

        if (!u && unit[0] && !strchr(unit, '/') && manager_client_waits(m, unit)) {
                r = dump(json_pack("{s:s, s:s}", "unit", unit, "phase", "client-waiting"), ret_body, ret_size,
                         ret_content_type);
                return r < 0 ? r : 503;
        }
        if (!u) {
                r = dump(json_pack("{s:s, s:s}", "error", "not supervised here", "unit", unit), ret_body, ret_size,
                         ret_content_type);
                return r < 0 ? r : 404;
        }
        r = dump(json_pack("{s:s, s:s, s:s, s:b, s:I}", "unit", u->conf.unit, "phase", supervised_phase_to_string(u->phase),
                           "active_state", u->have_status ? unit_active_state_to_string(u->status.active) : "",
                           "held_here", u->held, "token", (json_int_t) (u->held ? u->token : 0)),
                 ret_body, ret_size, ret_content_type);
        if (r < 0)
                return r;
        return u->phase == SUP_RUNNING ? 200 : 503;
}

int http_api_setup(Manager *m) {
        int r;

        assert(m);

        r = http_server_add_get_route(m->server, "/v1/names", false, get_names, m);
        if (r >= 0)
                r = http_server_add_get_route(m->server, "/v1/names/", true, get_name, m);
        if (r >= 0)
                r = http_server_add_get_route(m->server, "/v1/nodes", false, get_nodes, m);
        if (r >= 0)
                r = http_server_add_get_route(m->server, "/v1/units/", true, get_unit, m);
        if (r >= 0)
                r = http_server_add_get_route(m->server, "/metrics", false, get_metrics, m);
        if (r < 0)
                return log_error_errno(r, "Cannot serve the HTTP read side: %m");
        return 0;
}
