/* The most workers one pool may run: the bound of --workers, of the admin `scale N`
 * command and of SIGTTIN. In common/ because preforkctl's help states it too. */
#ifndef PREFORKD_POOL_SIZE_H
#define PREFORKD_POOL_SIZE_H

#define WORKERS_MAX 1024

#endif
