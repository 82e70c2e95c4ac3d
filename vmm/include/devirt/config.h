/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The boot config (devirt.cfg on the ESP), parsed by the loader and handed
 * to the hypervisor inside struct boot_info. Pure C: the parser is built
 * into the UEFI loader and into the native unit tests.
 */
#ifndef DEVIRT_CONFIG_H
#define DEVIRT_CONFIG_H

#include <devirt/types.h>

#define CFG_MAX_VMS 4
#define CFG_NAME_LEN 16
#define CFG_PATH_LEN 128
#define CFG_CMDLINE_LEN 512
#define CFG_ERR_LEN 160
/* `devices =`: comma-separated globs, stored as "a,b,c" (docs/boot-config.md) */
#define CFG_DEVICES_LEN 256

enum vm_role {
	VM_ROLE_DRIVER = 1,
	VM_ROLE_GUEST = 2,
};

struct vm_config {
	char name[CFG_NAME_LEN];
	u32 role;
	u32 cpus;
	u64 memory; /* bytes */
	char kernel[CFG_PATH_LEN];
	char initrd[CFG_PATH_LEN]; /* empty: no initrd */
	char cmdline[CFG_CMDLINE_LEN];
	/* User guests: the device files it may open; empty: none. */
	char devices[CFG_DEVICES_LEN];
};

struct devirt_config {
	u32 nr_vms;
	u32 log_level; /* 0 quiet, 1 info, 2 debug */
	u32 bare; /* boot = bare: start the driver VM's kernel without devirt */
	u64 hyp_memory; /* bytes reserved for the hypervisor */
	struct vm_config vms[CFG_MAX_VMS];
};

/*
 * Parse @len bytes of @text into @cfg. Returns 0, or -1 with a one-line
 * human-readable reason (naming the line) in @err.
 */
int config_parse(const char *text, size_t len, struct devirt_config *cfg,
		 char *err, size_t errlen);

#endif
