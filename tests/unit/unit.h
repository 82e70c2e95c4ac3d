/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal check macros for the native unit tests (make unit). Each test
 * binary is one translation unit that includes this header once:
 *
 *   CHECK(cond)           fails if cond is false
 *   CHECK_EQ(a, b)        compares two integers (or pointers) as u64
 *   CHECK_STR(a, b)       compares two NUL-terminated strings
 *   CHECK_HAS(s, sub)     s contains the substring sub
 *   return unit_done();   prints "test_NAME: N passed, N failed", exit code
 *
 * A failed check prints file:line, the expression and the values, and the
 * test goes on, so that one run shows every failure.
 */
#ifndef DEVIRT_UNIT_H
#define DEVIRT_UNIT_H

#include <stdio.h>
#include <string.h>

static unsigned int unit_passed, unit_failed;

static inline int unit_check(int ok, const char *file, int line,
			     const char *expr)
{
	if (ok) {
		unit_passed++;
		return 1;
	}
	unit_failed++;
	fprintf(stderr, "%s:%d: CHECK(%s) failed\n", file, line, expr);
	return 0;
}

static inline int unit_check_eq(unsigned long long a, unsigned long long b,
				const char *file, int line, const char *ea,
				const char *eb)
{
	if (a == b) {
		unit_passed++;
		return 1;
	}
	unit_failed++;
	fprintf(stderr,
		"%s:%d: CHECK_EQ(%s, %s) failed:\n"
		"\t%s = %llu (0x%llx)\n\t%s = %llu (0x%llx)\n",
		file, line, ea, eb, ea, a, a, eb, b, b);
	return 0;
}

static inline int unit_check_str(const char *a, const char *b, const char *file,
				 int line, const char *ea, const char *eb)
{
	if (a && b && !strcmp(a, b)) {
		unit_passed++;
		return 1;
	}
	unit_failed++;
	fprintf(stderr,
		"%s:%d: CHECK_STR(%s, %s) failed:\n\t%s = \"%s\"\n"
		"\t%s = \"%s\"\n",
		file, line, ea, eb, ea, a ? a : "(null)", eb, b ? b : "(null)");
	return 0;
}

static inline int unit_check_has(const char *s, const char *sub,
				 const char *file, int line, const char *es)
{
	if (s && sub && strstr(s, sub)) {
		unit_passed++;
		return 1;
	}
	unit_failed++;
	fprintf(stderr, "%s:%d: CHECK_HAS(%s, \"%s\") failed:\n\t%s = \"%s\"\n",
		file, line, es, sub ? sub : "(null)", es, s ? s : "(null)");
	return 0;
}

/* Each macro evaluates its arguments once and yields 1 (pass) or 0. */
#define CHECK(cond) unit_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b)                                                  \
	unit_check_eq((unsigned long long)(a), (unsigned long long)(b), \
		      __FILE__, __LINE__, #a, #b)
#define CHECK_STR(a, b) unit_check_str((a), (b), __FILE__, __LINE__, #a, #b)
#define CHECK_HAS(s, sub) unit_check_has((s), (sub), __FILE__, __LINE__, #s)

static inline int unit_finish(const char *file)
{
	const char *name = strrchr(file, '/');
	size_t len;

	name = name ? name + 1 : file;
	len = strlen(name);
	if (len > 2 && !strcmp(name + len - 2, ".c"))
		len -= 2;
	printf("%.*s: %u passed, %u failed\n", (int)len, name, unit_passed,
	       unit_failed);
	fflush(stdout);
	return unit_failed ? 1 : 0;
}

#define unit_done() unit_finish(__FILE__)

#endif
