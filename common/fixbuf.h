/* Text appended to a fixed buffer without printf: what a worker writes on its hot
 * path (an HTTP response head) is a few strings and numbers, and vfprintf costs
 * both time per call and libc pages in every worker (README, "Worker memory"). */
#ifndef PREFORKD_FIXBUF_H
#define PREFORKD_FIXBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* An append that does not fit marks the buffer over and writes nothing; the
 * caller checks `over` once, at the end. */
struct fixbuf {
	char *p;
	size_t len;
	size_t cap;
	int over;
};

static inline struct fixbuf fixbuf_on(char *p, size_t cap)
{
	struct fixbuf b = { p, 0, cap, 0 };

	return b;
}

static inline void fixbuf_mem(struct fixbuf *b, const char *s, size_t n)
{
	if (b->over || n > b->cap - b->len) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static inline void fixbuf_str(struct fixbuf *b, const char *s)
{
	fixbuf_mem(b, s, strlen(s));
}

/* v in decimal; a negative one with its '-'. */
void fixbuf_u64(struct fixbuf *b, uint64_t v);
void fixbuf_i64(struct fixbuf *b, int64_t v);
/* v in lowercase hexadecimal without leading zeros (printf's %llx). */
void fixbuf_hex(struct fixbuf *b, uint64_t v);

/* The buffer as a C string: a NUL after the text (one byte is kept for it), or
 * an empty string when it went over (or has no room for a NUL at all). */
const char *fixbuf_cstr(struct fixbuf *b);

#endif
