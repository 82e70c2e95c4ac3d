/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-VM device lists (boot config `devices =`, docs/boot-config.md): the
 * hypervisor checks every name a user guest asks the driver VM for
 * against its VM's list. Pure C, no library calls: built into the vmm
 * and into the native unit tests (tests/unit/test_acl.c).
 */
#ifndef DEVFILE_ACL_H
#define DEVFILE_ACL_H

#include <devirt/types.h>

/*
 * Does @name match the glob @pat (@plen bytes, no NUL needed)? '*'
 * matches any run of characters, '/' included, '?' exactly one; every
 * other byte only itself.
 */
bool devfile_glob_match(const char *pat, size_t plen, const char *name);

/*
 * Does the NUL-terminated, comma-separated list of globs @list allow
 * @name? An empty list allows nothing, and no list allows an empty name.
 */
bool devfile_acl_allows(const char *list, const char *name);

#endif
