/* Unit tests: systemd's LISTEN_FDS convention as activation_parse() reads it (the
 * pid check, the count, the names), and the names an upgrade reserves. */
#include "activation.h"
#include "unit.h"

int main(void)
{
	struct activation a;
	char err[256] = "";

	CHECK(activation_parse(&a, NULL, NULL, NULL, 100, err, sizeof err) == 0 && !a.present,
	      "no LISTEN_FDS: nothing inherited");
	CHECK(activation_parse(&a, "2", "99", NULL, 100, err, sizeof err) == 0 && !a.present,
	      "LISTEN_PID of another process: the variables are not ours");
	CHECK(activation_parse(&a, "2", "100", NULL, 100, err, sizeof err) == 0 && a.present &&
	              a.n == 2 && a.fds[0].fd == 3 && a.fds[1].fd == 4 && a.fds[1].name[0] == '\0',
	      "two fds from 3, no names");
	CHECK(activation_parse(&a, "3", "100", "web:admin:", 100, err, sizeof err) == 0 &&
	              a.n == 3 && strcmp(a.fds[0].name, "web") == 0 &&
	              strcmp(a.fds[1].name, "admin") == 0 && a.fds[2].name[0] == '\0',
	      "names one per fd, an empty one allowed");
	int first = activation_take(&a, "admin");
	int again = activation_take(&a, "admin");

	CHECK(first == 4 && again == -1, "a named fd is taken once");
	CHECK(activation_take(&a, "web") == 3 && activation_take(&a, "") == 5,
	      "and so is an unnamed one");
	CHECK(activation_parse(&a, "2", "100", "a:b:c", 100, err, sizeof err) < 0 &&
	              strstr(err, "more names") != NULL,
	      "more names than fds is refused (%s)", err);
	CHECK(activation_parse(&a, "3", "100", "a:b", 100, err, sizeof err) < 0 &&
	              strstr(err, "fewer names") != NULL,
	      "fewer names than fds is refused (%s)", err);
	CHECK(activation_parse(&a, "0", "100", NULL, 100, err, sizeof err) < 0,
	      "LISTEN_FDS=0 is refused (%s)", err);
	CHECK(activation_parse(&a, "33", "100", NULL, 100, err, sizeof err) < 0,
	      "more than %d fds is refused (%s)", ACTIVATION_FDS_MAX, err);
	CHECK(activation_parse(&a, " 2", "100", NULL, 100, err, sizeof err) < 0 &&
	              activation_parse(&a, "2x", "100", NULL, 100, err, sizeof err) < 0 &&
	              activation_parse(&a, "-1", "100", NULL, 100, err, sizeof err) < 0,
	      "a count must be plain digits");
	CHECK(activation_parse(&a, "1", NULL, NULL, 100, err, sizeof err) < 0 &&
	              strstr(err, "LISTEN_PID is missing") != NULL,
	      "LISTEN_FDS without LISTEN_PID is refused (%s)", err);
	CHECK(activation_parse(&a, "1", "abc", NULL, 100, err, sizeof err) < 0,
	      "a LISTEN_PID that is not a pid is refused (%s)", err);
	CHECK(activation_parse(&a, "1", "100", "bad\tname", 100, err, sizeof err) < 0,
	      "a name with a control byte is refused (%s)", err);
	char long_name[300];

	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	CHECK(activation_parse(&a, "1", "100", long_name, 100, err, sizeof err) < 0,
	      "a name longer than 255 is refused (%s)", err);
	CHECK(activation_name_reserved("admin") && activation_name_reserved("upgrade-ready") &&
	              !activation_name_reserved("web") && !activation_name_reserved(""),
	      "the upgrade's names are reserved, others are listeners");
	return unit_done();
}
