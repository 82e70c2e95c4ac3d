// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy PC ports a stock kernel reads on every x86 machine, whatever
 * its firmware tables say, answered for a user guest as a modern board
 * answers them, so that its boot is free of refusals and platform errors:
 *
 * - PCI configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2) with a
 *   host bridge at 00:00.0 and nothing else. Linux's pci_direct_probe()
 *   accepts mechanism #1 once bus 0 has a host bridge (its sanity check)
 *   and otherwise logs "PCI: Fatal: No config space access function".
 *   The DSDT lists no PCI root, so the kernel never scans the bus.
 * - The legacy UARTs COM2-COM4 the 8250 driver probes from its built-in
 *   table, the 8237 DMA page registers (Linux's i8237A_init_ops reads 0x87
 *   and expects 0xff where, as on Skylake PCHs and later, there is none)
 *   and mechanism #2's registers 0xcf8/0xcfa: absent, so reads float
 *   (all-ones) and writes go nowhere.
 *
 * They are counted (vm->legacy_io), not logged as refusals.
 */
#include "vm.h"

#define PCI_CONF_ADDR 0xcf8
#define PCI_CONF_DATA 0xcfc
#define PCI_CONF_ENABLE (1u << 31)

/*
 * 00:00.0, a host bridge (class 06/00/00), header type 0, with the IDs of
 * QEMU's generic PCIe host bridge (Red Hat 1b36:0008); the guest test
 * module checks for them (DEVIRT_PCI_HOSTBRIDGE_ID in devirt/hc_linux.h).
 */
#define HB_VENDOR 0x1b36
#define HB_DEVICE 0x0008

static u32 hostbridge_dword(u32 reg)
{
	switch (reg) {
	case 0x00:
		return HB_DEVICE << 16 | HB_VENDOR;
	case 0x08:
		return 0x06000000; /* class code 06/00/00, revision 0 */
	default:
		return 0; /* no BARs, no capabilities, no interrupt */
	}
}

static bool absent_port(u16 port, u32 size)
{
	u16 last = (u16)(port + size - 1);

	/* COM2 0x2f8, COM3 0x3e8, COM4 0x2e8 (8 ports each). */
	if ((port >= 0x2f8 && last <= 0x2ff) ||
	    (port >= 0x3e8 && last <= 0x3ef) ||
	    (port >= 0x2e8 && last <= 0x2ef))
		return true;
	/* 8237 DMA page registers 0x80-0x8f, but 0x80 (POST codes). */
	if (port >= 0x81 && last <= 0x8f)
		return true;
	return false;
}

bool legacy_io(struct vcpu *vcpu, u16 port, bool in, u32 size, u32 *val)
{
	struct vm *vm = vcpu->vm;
	u32 addr = vm->pci_conf_addr;

	if (port == PCI_CONF_ADDR && size == 4) {
		if (in)
			*val = addr;
		else
			vm->pci_conf_addr = *val & 0x80fffffcu;
	} else if (port >= PCI_CONF_DATA && port + size <= PCI_CONF_DATA + 4) {
		u32 shift = 8 * (port - PCI_CONF_DATA);
		/* Bus 0, device 0, function 0: bits 23:8 of the address. */
		bool hb = (addr & PCI_CONF_ENABLE) && !(addr & 0x00ffff00u);
		u32 d = hb ? hostbridge_dword(addr & 0xfc) : 0xffffffffu;

		if (in)
			*val = d >> shift;
		/* Writes: the bridge has nothing writable; absent ones float. */
	} else if ((port >= PCI_CONF_ADDR && port < PCI_CONF_DATA) ||
		   absent_port(port, size)) {
		/* Mechanism #2's byte registers, absent legacy devices. */
		if (in)
			*val = 0xffffffffu;
	} else {
		return false;
	}
	vm->legacy_io++;
	return true;
}
