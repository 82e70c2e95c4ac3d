// SPDX-License-Identifier: GPL-2.0
/*
 * Glob matching for the per-VM device lists (devfile/include/devfile/acl.h).
 * A guest chooses the names, so the matcher must stay cheap whatever they
 * are: it backtracks only to the last '*' seen, which is enough when '*'
 * matches every character (a later '*' can absorb whatever an earlier one
 * would have), so it takes O(pattern x name) steps, never exponential.
 */
#include <devfile/acl.h>

bool devfile_glob_match(const char *pat, size_t plen, const char *name)
{
	size_t p = 0, n = 0, star = 0, mark = 0;
	bool have_star = false;

	while (name[n]) {
		if (p < plen && pat[p] == '*') {
			/* Try the empty run first; widen it on a mismatch. */
			have_star = true;
			star = ++p;
			mark = n;
		} else if (p < plen && (pat[p] == '?' || pat[p] == name[n])) {
			p++;
			n++;
		} else if (have_star) {
			p = star;
			n = ++mark;
		} else {
			return false;
		}
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

bool devfile_acl_allows(const char *list, const char *name)
{
	const char *s = list, *e;

	if (!name[0])
		return false;
	while (*s) {
		for (e = s; *e && *e != ','; e++)
			;
		/* Empty entries (never written by the parser) match nothing. */
		if (e > s && devfile_glob_match(s, (size_t)(e - s), name))
			return true;
		s = *e ? e + 1 : e;
	}
	return false;
}
