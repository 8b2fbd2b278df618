/* shared_data.c - the shared folder beside the repository, for the unit tests. */
#include "tests/unit/shared_data.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *shared_dir(void)
{
	const char *dir = getenv("SHARED");

	return dir != NULL && dir[0] != '\0' ? dir : "../shared";
}

const char *shared_path(const char *rel)
{
	static char bufs[8][4096];
	static unsigned next;
	char *p = bufs[next++ % 8];

	snprintf(p, sizeof bufs[0], "%s/%s", shared_dir(), rel);
	return p;
}

void need_shared(const char *set, const char *what)
{
	const char *dir = shared_path(set);
	const char *req = getenv("REQUIRE_SHARED");
	bool beside = strcmp(shared_dir(), "../shared") == 0;

	if (access(dir, R_OK | X_OK) == 0)
		return;
	if (req != NULL && strcmp(req, "1") == 0)
		cr_assert_fail("%s not found (REQUIRE_SHARED=1): %s not skipped", dir, what);
	cr_skip_test("reading %s (%s not found%s)", what, dir,
		     beside ? " beside the repository" : "");
}
