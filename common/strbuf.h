/* A growing string buffer for replies and rendered text. */
#ifndef PREFORKD_STRBUF_H
#define PREFORKD_STRBUF_H

#include <stddef.h>

/* A growing reply buffer. An allocation failure leaves it marked failed (and keeps
 * what it had), so renderers need not check every append. */
struct strbuf {
	char *data;
	size_t len;
	size_t cap;
	int failed;
};

void strbuf_append(struct strbuf *b, const char *s, size_t n);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_free(struct strbuf *b);

#endif
