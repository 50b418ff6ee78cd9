/* Stats rendering: what the admin socket reports about a running master, as human
 * text, JSON or the Prometheus text format. Reads the master and the scoreboard,
 * changes nothing. */
#ifndef PREFORKD_STATS_H
#define PREFORKD_STATS_H

#include <stddef.h>
#include <stdint.h>

struct pool;
struct strbuf;

enum stats_format { STATS_TEXT, STATS_JSON, STATS_PROMETHEUS };

/* `status`: a systemctl-like header, the totals, then the per-worker table. */
void stats_render_status(struct strbuf *b, const struct pool *m, uint64_t now_ns);
/* `workers`: the per-worker table alone. */
void stats_render_workers(struct strbuf *b, const struct pool *m, uint64_t now_ns);
/* `stats [json|prometheus]`: every field; text is one "key: value" line each, the
 * keys being the JSON paths. */
void stats_render(struct strbuf *b, const struct pool *m, enum stats_format f, uint64_t now_ns);

#endif
