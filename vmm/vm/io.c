// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O exits. A user guest owns no device: every port exits (SDM Vol.
 * 3C 25.6.4 I/O bitmaps, APM Vol. 2 15.10 IOPM), the emulated UART
 * answers at COM1 and a read-only clock at the CMOS ports, a reset request
 * stops the guest, the legacy ports a stock kernel always probes answer as
 * on a modern board (legacy.c), and everything else
 * reads as a missing device (all-ones) and drops writes. The driver VM
 * exits only on ports devirt keeps for itself (COM2 for guest consoles)
 * and on COM1's data port, which it shares with devirt's log.
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"

#define KBC_CMD 0x64
#define KBC_RESET 0xfe /* 8042 command: pulse the reset line */
#define RST_CNT 0xcf9 /* reset control register */
#define RST_CPU 0x04

static u64 size_mask(u32 size)
{
	return size == 1 ? 0xffULL : size == 2 ? 0xffffULL : 0xffffffffULL;
}

static bool reset_request(u16 port, bool in, u32 val)
{
	return !in && ((port == KBC_CMD && (u8)val == KBC_RESET) ||
		       (port == RST_CNT && (val & RST_CPU)));
}

/*
 * The driver VM's access that touches COM1's data port: done on the real
 * UART, byte by byte; a written character goes through the console so
 * that devirt's lines wait for the end of the driver VM's line.
 */
static bool driver_com1(u16 port, bool in, u32 size, u32 *val)
{
	u32 v = 0;

	if (port > COM1 || port + size <= COM1)
		return false;
	for (u32 i = 0; i < size; i++) {
		u16 p = (u16)(port + i);

		if (in)
			v |= (u32)inb(p) << (8 * i);
		else if (p == COM1)
			console_driver_out((u8)(*val >> (8 * i)));
		else
			outb(p, (u8)(*val >> (8 * i)));
	}
	if (in)
		*val = v;
	return true;
}

void handle_io(struct vcpu *vcpu, const struct exit_info *ex)
{
	struct vm *vm = vcpu->vm;
	u16 port = ex->io.port;
	bool in = ex->io.in;
	u64 mask = size_mask(ex->io.size);
	u32 val = in ? 0 : (u32)(vcpu->regs.rax & mask);

	if (ex->io.string) {
		/* INS/OUTS: nothing of a guest needs them; skip, no data. */
		vm_refuse(vm, REFUSE_IO, "string port %s 0x%x (rip 0x%lx)",
			  in ? "input" : "output", port, vcpu->regs.rip);
		vcpu_skip(vcpu, 0);
		return;
	}
	if (vm->role == VM_ROLE_GUEST && ex->io.size == 1 &&
	    (uart_io(vcpu, port, in, &val) || rtc_io(vcpu, port, in, &val))) {
		/* an emulated device of the guest's own */
	} else if (vm->role == VM_ROLE_DRIVER &&
		   driver_com1(port, in, ex->io.size, &val)) {
		/* the driver VM's own UART, shared with devirt's log */
	} else if (vm->role == VM_ROLE_GUEST && reset_request(port, in, val)) {
		pr_info("[%s] asked for a machine reset (port 0x%x <- 0x%x)\n",
			vm->name, port, val);
		vcpu_stop_vm(vcpu, "the guest asked for a reset");
	} else if (vm->role == VM_ROLE_GUEST &&
		   legacy_io(vcpu, port, in, ex->io.size, &val)) {
		/* a legacy port every PC answers (legacy.c) */
	} else {
		vm_refuse(vm, REFUSE_IO,
			  "port %s 0x%x%s (%u bytes, rip 0x%lx): %s",
			  in ? "read" : "write", port, in ? "" : "",
			  ex->io.size, vcpu->regs.rip,
			  vm->role == VM_ROLE_GUEST ?
				  "a user guest has no devices" :
				  "the port is devirt's");
		val = (u32)mask; /* floating bus */
	}
	if (in) {
		/* A 32-bit IN zero-extends into RAX (SDM Vol. 1 3.4.1.1). */
		if (ex->io.size == 4)
			vcpu->regs.rax = val;
		else
			vcpu->regs.rax = (vcpu->regs.rax & ~mask) |
					 (val & mask);
	}
	vcpu_skip(vcpu, 0);
}
