/* preforkd's version, written in this one place: the server and every client print it
 * for --version, and the server reports it in its stats. */
#ifndef PREFORKD_VERSION_H
#define PREFORKD_VERSION_H

#define PREFORKD_VERSION "0.1.0"

#endif
