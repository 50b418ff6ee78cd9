/* Unit tests: closing inherited fds keeps stdio and the keep list, nothing else. */
#include "fds.h"
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Opens /dev/null as each fd in the list. */
static void open_as(const int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd >= 0 && fd != fds[i]) {
			SETUP(dup2(fd, fds[i]) == fds[i]);
			close(fd);
		}
	}
}

int main(void)
{
	static const int opened[] = { 3, 4, 5, 9, 10, 200 };
	static const int keep[] = { 9, 4, 700, 2, 4 };
	int n = (int)(sizeof opened / sizeof opened[0]);

	open_as(opened, n);
	CHECK(fds_close_inherited(keep, sizeof keep / sizeof keep[0]) == 0,
	      "closing with a keep list succeeds");
	CHECK(is_open(0) && is_open(1) && is_open(2), "stdio stays open");
	CHECK(is_open(4) && is_open(9), "the fds on the keep list stay open, in any order");
	CHECK(!is_open(3) && !is_open(5) && !is_open(10) && !is_open(200),
	      "every other fd >= 3 is closed");

	open_as(opened, n);
	CHECK(fds_close_inherited(NULL, 0) == 0 && !is_open(3) && !is_open(4) && !is_open(9) &&
	              !is_open(200) && is_open(2),
	      "an empty keep list closes every fd >= 3");

	open_as(opened, n);
	CHECK(fds_close_listed(4, 9) == 0 && is_open(3) && !is_open(4) && !is_open(5) &&
	              !is_open(9) && is_open(10) && is_open(200),
	      "the /proc/self/fd fallback closes exactly the range asked");
	return unit_done();
}
