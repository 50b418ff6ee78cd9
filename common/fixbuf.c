/* Numbers appended to a fixed buffer (fixbuf.h). */
#include "fixbuf.h"

void fixbuf_u64(struct fixbuf *b, uint64_t v)
{
	char d[20];
	size_t i = sizeof d;

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fixbuf_mem(b, d + i, sizeof d - i);
}

void fixbuf_i64(struct fixbuf *b, int64_t v)
{
	if (v < 0) {
		fixbuf_mem(b, "-", 1);
		/* -(v + 1) + 1 stays in range for INT64_MIN. */
		fixbuf_u64(b, (uint64_t)(-(v + 1)) + 1);
		return;
	}
	fixbuf_u64(b, (uint64_t)v);
}

void fixbuf_hex(struct fixbuf *b, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char d[16];
	size_t i = sizeof d;

	do {
		d[--i] = digits[v & 15];
		v >>= 4;
	} while (v);
	fixbuf_mem(b, d + i, sizeof d - i);
}

const char *fixbuf_cstr(struct fixbuf *b)
{
	if (b->cap == 0) {
		b->over = 1;
		return "";
	}
	if (b->over || b->len == b->cap) {
		b->over = 1;
		b->p[0] = '\0';
		return b->p;
	}
	b->p[b->len] = '\0';
	return b->p;
}
