/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tests= parameter of the devirt test modules: a comma list of test
 * names, "all" or "none". Shared by devirt_test.c and devirt_guest_test.c.
 */
#ifndef DEVIRT_TEST_SELECT_H
#define DEVIRT_TEST_SELECT_H

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>

/*
 * Sets bit i of *mask for each test named in @list. @table holds @n
 * entries of @stride bytes, each starting with its name (const char *);
 * "all" selects the entries in @all. -EINVAL for an unknown name.
 */
static inline int devirt_parse_tests(const char *list, const void *table,
				     size_t stride, int n, unsigned long all,
				     unsigned long *mask)
{
	char *copy, *cur, *tok;
	int i, ret = 0;

	*mask = 0;
	if (!list)
		return 0;
	copy = kstrdup(list, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	cur = copy;
	while ((tok = strsep(&cur, ",")) != NULL) {
		tok = strim(tok);
		if (!*tok || !strcmp(tok, "none"))
			continue;
		if (!strcmp(tok, "all")) {
			*mask |= all;
			continue;
		}
		for (i = 0; i < n; i++)
			if (!strcmp(tok,
				    *(const char *const *)(table + i * stride)))
				break;
		if (i == n) {
			pr_err("unknown test '%s' (known: all, none", tok);
			for (i = 0; i < n; i++)
				pr_cont(", %s",
					*(const char *const *)(table +
							       i * stride));
			pr_cont(")\n");
			ret = -EINVAL;
			break;
		}
		*mask |= 1UL << i;
	}
	kfree(copy);
	return ret;
}

#endif
