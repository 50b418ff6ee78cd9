/* Privilege drop for workers. The order is fixed: setgroups() and setgid() need
 * root, so they come before setuid(); a worker that changed its uid first would keep
 * root's groups. Afterwards setuid(0) must fail, or the drop was not real (a kernel or
 * capability set that let it back in). Names are resolved in the master before the
 * first fork, so no worker calls into NSS. gid 0 never reaches a worker: refused as
 * the primary group, dropped from the supplementary ones (a worker loses a group it
 * would only have had by accident, and the log says so). Every worker, with or
 * without --user, runs with PR_SET_NO_NEW_PRIVS: no set-uid program or file
 * capability can give it back what it gave up. */
#include "privdrop.h"

#include "config.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static struct {
	int active;
	int core_dumps;
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups of the user (and --group) */
	int ngroups;
} target;

static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static const struct passwd *find_user(const char *name)
{
	const struct passwd *pw = getpwnam(name);

	if (!pw && is_number(name))
		pw = getpwuid((uid_t)strtoul(name, NULL, 10));
	return pw;
}

static const struct group *find_group(const char *name)
{
	const struct group *gr = getgrnam(name);

	if (!gr && is_number(name))
		gr = getgrgid((gid_t)strtoul(name, NULL, 10));
	return gr;
}

/* The user's groups from the group database, as initgroups() would set them, with
 * the chosen primary group included. */
static int load_groups(const char *user, gid_t gid, char *err, size_t errlen)
{
	int n = 16;

	for (;;) {
		gid_t *list = realloc(target.groups, (size_t)n * sizeof *list);
		int want = n;

		if (!list) {
			snprintf(err, errlen, "--user: %s", strerror(errno));
			return -1;
		}
		target.groups = list;
		if (getgrouplist(user, gid, list, &want) >= 0) {
			target.ngroups = want;
			return 0;
		}
		if (want <= n) {
			snprintf(err, errlen, "--user: cannot list the groups of '%s'", user);
			return -1;
		}
		n = want;
	}
}

/* Supplementary group 0 (a user in the "root" group) is left out. */
static int drop_root_group(void)
{
	int kept = 0;

	for (int i = 0; i < target.ngroups; i++)
		if (target.groups[i] != 0)
			target.groups[kept++] = target.groups[i];
	if (kept == target.ngroups)
		return 0;
	target.ngroups = kept;
	return 1;
}

int privdrop_prepare(const struct config *cfg, char *err, size_t errlen)
{
	const struct passwd *pw;
	const struct group *gr = NULL;

	target.core_dumps = cfg->core_dumps;
	if (!cfg->user)
		return 0;
	if (geteuid() != 0) {
		snprintf(err, errlen, "--user needs preforkd to start as root (running as uid %ld)",
		         (long)geteuid());
		return -1;
	}
	errno = 0;
	pw = find_user(cfg->user);
	if (!pw) {
		snprintf(err, errlen, "--user: no such user '%s'%s%s", cfg->user, errno ? ": " : "",
		         errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "--user: '%s' is uid 0; refusing to run workers as root",
		         cfg->user);
		return -1;
	}
	target.uid = pw->pw_uid;
	target.gid = pw->pw_gid;
	if (cfg->group) {
		errno = 0;
		gr = find_group(cfg->group);
		if (!gr) {
			snprintf(err, errlen, "--group: no such group '%s'%s%s", cfg->group,
			         errno ? ": " : "", errno ? strerror(errno) : "");
			return -1;
		}
		target.gid = gr->gr_gid;
	}
	if (target.gid == 0) {
		snprintf(err, errlen,
		         "%s: '%s' is gid 0; refusing to run workers with group root%s",
		         cfg->group ? "--group" : "--user", cfg->group ? cfg->group : cfg->user,
		         cfg->group ? "" : " (give --group)");
		return -1;
	}
	if (load_groups(pw->pw_name, target.gid, err, errlen) < 0)
		return -1;
	if (drop_root_group())
		log_warn("--user: '%s' is a member of group 0 (root); workers run without it",
		         pw->pw_name);
	target.active = 1;
	log_info("workers will run as user %s (uid %ld, gid %ld, %d groups); the master keeps root",
	         pw->pw_name, (long)target.uid, (long)target.gid, target.ngroups);
	return 0;
}

/* Root can always regain root: if setuid(0) works, uid 0 (or CAP_SETUID) is still
 * ours. */
static int verify_dropped(void)
{
	if (setuid(0) == 0 || seteuid(0) == 0) {
		log_error("privilege drop: root could be regained after setuid(%ld)",
		          (long)target.uid);
		return -1;
	}
	if (getuid() != target.uid || geteuid() != target.uid || getgid() != target.gid ||
	    getegid() != target.gid) {
		log_error("privilege drop: ids are not the target's after the drop");
		return -1;
	}
	return 0;
}

/* After setuid() Linux makes the worker non-dumpable (no core, no ptrace by that
 * uid); --core-dumps sets it back, which also lets any process of the user ptrace the
 * worker and reach the fds root opened: hence opt-in. */
static int allow_core_dumps(void)
{
	if (!target.core_dumps)
		return 0;
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) {
		log_error("prctl PR_SET_DUMPABLE: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int change_ids(void)
{
	if (setgroups((size_t)target.ngroups, target.groups) < 0) {
		log_error("setgroups: %s", strerror(errno));
		return -1;
	}
	if (setgid(target.gid) < 0) {
		log_error("setgid %ld: %s", (long)target.gid, strerror(errno));
		return -1;
	}
	if (setuid(target.uid) < 0) {
		log_error("setuid %ld: %s", (long)target.uid, strerror(errno));
		return -1;
	}
	if (verify_dropped() < 0)
		return -1;
	return allow_core_dumps();
}

int privdrop_apply(void)
{
	if (target.active && change_ids() < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("prctl PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return 0;
}
