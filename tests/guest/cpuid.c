// SPDX-License-Identifier: GPL-2.0
/*
 * cpuid LEAF [SUBLEAF] - print what CPUID returns, for guest checks.
 *
 * Build: gcc -static -O2 -o cpuid tests/guest/cpuid.c
 *
 * Output: "eax=0x.. ebx=0x.. ecx=0x.. edx=0x.." and, for the hypervisor
 * signature leaves 0x40000000 and 0x40000100, a second line
 * "sig=<ebx,ecx,edx as up to 12 characters>": a NUL byte ends it, other
 * non-printable bytes become '.'.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > 0xffffffffUL)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t leaf, subleaf = 0, a, b, c, d;

	if (argc < 2 || argc > 3 || parse_u32(argv[1], &leaf) ||
	    (argc == 3 && parse_u32(argv[2], &subleaf))) {
		fprintf(stderr, "usage: %s LEAF [SUBLEAF]\n", argv[0]);
		return 2;
	}

	asm volatile("cpuid"
		     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(leaf), "c"(subleaf));

	printf("eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n", a, b, c, d);

	if (leaf == 0x40000000u || leaf == 0x40000100u) {
		uint32_t regs[3] = { b, c, d };
		char sig[13];
		int i;

		memcpy(sig, regs, 12);
		sig[12] = '\0';
		/* NUL ends it (KVM pads with zeros); others become '.' */
		for (i = 0; sig[i]; i++) {
			if (sig[i] < 0x20 || sig[i] > 0x7e)
				sig[i] = '.';
		}
		printf("sig=%s\n", sig);
	}
	return 0;
}
