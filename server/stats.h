/* Stats rendering: what the admin socket reports about the pool, as human text,
 * "key: value" lines, JSON or the Prometheus text format, every machine format
 * made from one field table. Reads the pool and its scoreboard, changes nothing. */
#ifndef PREFORKD_STATS_H
#define PREFORKD_STATS_H

#include <stddef.h>
#include <stdint.h>

struct pool;
struct strbuf;

enum stats_format { STATS_TEXT, STATS_JSON, STATS_PROMETHEUS };

/* `status`: a systemctl-like header, the totals, then the per-worker table. */
void stats_render_status(struct strbuf *b, const struct pool *p, uint64_t now_ns);
/* `workers`: the per-worker table alone. */
void stats_render_workers(struct strbuf *b, const struct pool *p, uint64_t now_ns);
/* `stats [json|prometheus]`: every field; text is one "key: value" line each, the
 * keys being the JSON paths. */
void stats_render(struct strbuf *b, const struct pool *p, enum stats_format f, uint64_t now_ns);
/* The field table's rules (each JSON object's rows together, no name used twice, one
 * help and type per Prometheus family, counters named _total): 0, or -1 with the
 * first broken rule in err. The unit test holds every row to them. */
int stats_check_fields(char *err, size_t errlen);

#endif
