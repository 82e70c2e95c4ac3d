// SPDX-License-Identifier: GPL-2.0
/*
 * The per-VM device list matcher (devfile/acl.c): globs against the
 * device names a guest asks for. The names are the guest's choice, so
 * besides the edges a pathological pattern must not take exponential
 * time, and a differential run compares it with an obvious recursive
 * matcher on every short pattern and name over a small alphabet.
 */
#include <stdlib.h>
#include <time.h>
#include <devfile/acl.h>
#include "unit.h"

static bool glob(const char *pat, const char *name)
{
	return devfile_glob_match(pat, strlen(pat), name);
}

/* The definition, recursively (exponential: short inputs only). */
static bool ref_match(const char *p, const char *n)
{
	if (!*p)
		return !*n;
	if (*p == '*')
		return ref_match(p + 1, n) || (*n && ref_match(p, n + 1));
	if (!*n)
		return false;
	return (*p == '?' || *p == *n) && ref_match(p + 1, n + 1);
}

static void test_edges(void)
{
	char name63[64], pat[128];

	/* An empty list allows nothing; "*" everything but the empty name. */
	CHECK(!devfile_acl_allows("", "devfile_test"));
	CHECK(!devfile_acl_allows("", ""));
	CHECK(devfile_acl_allows("*", "devfile_test"));
	CHECK(devfile_acl_allows("*", "a"));
	CHECK(devfile_acl_allows("*", "dri/by-path/pci-0000:00:02.0-card"));
	CHECK(!devfile_acl_allows("*", ""));
	CHECK(glob("*", ""));
	CHECK(glob("", ""));
	CHECK(!glob("", "a"));

	/* A trailing '*', and '*' across '/'. */
	CHECK(glob("input/event*", "input/event"));
	CHECK(glob("input/event*", "input/event12"));
	CHECK(glob("input/event*", "input/event1/x"));
	CHECK(!glob("input/event*", "input/even"));
	CHECK(!glob("input/event*", "input/mouse0"));
	CHECK(glob("snd/*", "snd/pcmC0D0p"));
	CHECK(!glob("snd/*", "snd"));
	CHECK(!glob("snd/*", "sndx"));
	CHECK(glob("snd*", "snd/controlC0"));
	CHECK(glob("*0", "video0"));
	CHECK(!glob("*0", "video01"));
	CHECK(glob("d*v*e", "devfile"));
	CHECK(glob("*test*", "devfile_test1"));

	/* '?' is exactly one character, '/' too. */
	CHECK(glob("video?", "video0"));
	CHECK(!glob("video?", "video"));
	CHECK(!glob("video?", "video10"));
	CHECK(glob("a?b", "a/b"));
	CHECK(glob("??", "\xc3\xa9")); /* bytes, not characters */

	/* Literal bytes: case matters, a '*' in a name is only a byte. */
	CHECK(!glob("video0", "Video0"));
	CHECK(!glob("abc", "a*c"));
	CHECK(glob("a?c", "a*c"));
	CHECK(glob("a*c", "a*c"));

	/* A pattern longer than the name. */
	CHECK(!glob("devfile_test1", "devfile_test"));
	CHECK(!glob("devfile_test?", "devfile_test"));
	CHECK(glob("devfile_test**", "devfile_test"));
	CHECK(glob("**devfile_test*", "devfile_test"));

	/* Names of the longest length (DEVFILE_NAME_MAX - 1 = 63). */
	memset(name63, 'n', 63);
	name63[63] = 0;
	CHECK(glob(name63, name63));
	memset(pat, '?', 63);
	pat[63] = 0;
	CHECK(glob(pat, name63));
	pat[62] = 0;
	CHECK(!glob(pat, name63));
	memset(pat, '?', 64);
	pat[64] = 0;
	CHECK(!glob(pat, name63));
	name63[62] = 'x';
	CHECK(glob("n*x", name63));
	CHECK(!glob("n*y", name63));
	CHECK(devfile_acl_allows("a,n*,b", name63));
}

static void test_lists(void)
{
	static const char list[] = "dri/card0,input/event*,snd/*,video0";

	CHECK(devfile_acl_allows(list, "dri/card0"));
	CHECK(!devfile_acl_allows(list, "dri/card1"));
	CHECK(!devfile_acl_allows(list, "dri/card0x"));
	CHECK(devfile_acl_allows(list, "input/event3"));
	CHECK(devfile_acl_allows(list, "snd/pcmC0D0p"));
	CHECK(devfile_acl_allows(list, "video0"));
	CHECK(!devfile_acl_allows(list, "video1"));
	CHECK(!devfile_acl_allows(list, "mem"));
	/* A pattern never runs into the next one. */
	CHECK(!devfile_acl_allows(list, "dri/card0,input/event1"));
	CHECK(!devfile_acl_allows("a,b", "a,b"));
	CHECK(devfile_acl_allows("a,b", "b"));
	/* Empty entries match nothing, not even around them. */
	CHECK(!devfile_acl_allows(",", "x"));
	CHECK(devfile_acl_allows(",x,", "x"));
	CHECK(!devfile_acl_allows("a,,b", "ab"));
	CHECK(devfile_acl_allows("devfile_test*", "devfile_test"));
	CHECK(devfile_acl_allows("devfile_test*", "devfile_test1"));
}

/* Many stars against a name that almost matches: linear, not 2^n. */
static void test_many_stars(void)
{
	char pat[256], name[64];
	clock_t t0 = clock();
	size_t o = 0;

	for (int i = 0; i < 40; i++) {
		pat[o++] = '*';
		pat[o++] = 'a';
	}
	pat[o++] = 'b';
	pat[o] = 0;
	memset(name, 'a', 63);
	name[63] = 0;
	for (int i = 0; i < 1000; i++)
		CHECK(!glob(pat, name));
	name[62] = 'b';
	CHECK(glob(pat, name));
	name[40] = 0;
	name[39] = 'b'; /* one 'a' too few */
	CHECK(!glob(pat, name));
	name[39] = 'a';
	name[40] = 'b';
	name[41] = 0;
	CHECK(glob(pat, name));
	pat[o - 1] = 0; /* ends in 'a' now */
	CHECK(!glob(pat, name));
	/* A recursive matcher needs years here; this one milliseconds. */
	CHECK((clock() - t0) < CLOCKS_PER_SEC);
}

/* Every pattern up to 5 and name up to 5 bytes over a small alphabet. */
static void test_against_reference(void)
{
	static const char pa[] = "ab/*?", na[] = "ab/*";
	char p[8], n[8];
	unsigned long bad = 0, runs = 0;

	for (int pl = 0; pl <= 5; pl++) {
		int pmax = 1;

		for (int i = 0; i < pl; i++)
			pmax *= 5;
		for (int pi = 0; pi < pmax; pi++) {
			for (int i = 0, v = pi; i < pl; i++, v /= 5)
				p[i] = pa[v % 5];
			p[pl] = 0;
			for (int nl = 0; nl <= 5; nl++) {
				int nmax = 1;

				for (int i = 0; i < nl; i++)
					nmax *= 4;
				for (int ni = 0; ni < nmax; ni++) {
					for (int i = 0, v = ni; i < nl;
					     i++, v /= 4)
						n[i] = na[v % 4];
					n[nl] = 0;
					runs++;
					if (glob(p, n) != ref_match(p, n) &&
					    bad++ < 5)
						fprintf(stderr,
							"\tpattern \"%s\" name \"%s\": %d\n",
							p, n, glob(p, n));
				}
			}
		}
	}
	CHECK_EQ(bad, 0);
	CHECK(runs > 1000000);
}

int main(void)
{
	test_edges();
	test_lists();
	test_many_stars();
	test_against_reference();
	return unit_done();
}
