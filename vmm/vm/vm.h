/* SPDX-License-Identifier: GPL-2.0 */
/* VMs and vCPUs: vendor-neutral state. */
#ifndef DEVIRT_VM_H
#define DEVIRT_VM_H

#include <devirt/types.h>
#include <devirt/boot_info.h>
#include "../arch/arch.h"
#include "../mm/stage2.h"
#include "layout.h"

#define VM_MAX_VCPUS 8
#define VM_MAX_MEM 64

struct vm;

struct vcpu {
	struct guest_regs regs; /* first: the entry assembly relies on it */
	struct vm *vm;
	u32 id;
	u32 apic_id;
	void *arch; /* back-end private state (VMCS/VMCB and friends) */
	bool stopped;
	u32 pcpu; /* index of the physical CPU it runs on */
	u32 exit_len; /* length of the instruction that exited */
	/* Guest timer state (apic.c): emulated TSC-deadline mode. */
	u32 lvtt; /* the LVT timer value the guest wrote */
	u32 ldr; /* user guests: the xAPIC LDR the guest wrote (apic.c) */
	u64 tsc_deadline; /* IA32_TSC_DEADLINE as the guest sees it */
	u64 pvclock_gpa; /* kvmclock time page, 0 when off */
	u64 exits;
	u64 exit_count[32]; /* per enum exit_reason */
	/*
	 * Stage-2 flushes other CPUs asked of this vCPU (vcpu_flush_remote):
	 * a TLB is flushed only by its own CPU, before it enters again.
	 */
	u64 flush_req, flush_done;
	/* A revoked device-window page the vCPU waits on (devfile). */
	u64 stall_gpa, stall_tsc;
};

struct vm {
	u32 id;
	char name[CFG_NAME_LEN];
	u32 role;
	u64 ram_bytes; /* RAM given to the VM, as configured */
	struct stage2 s2;
	u32 nr_mem;
	struct mem_range mem[VM_MAX_MEM]; /* guest-physical map, e820 types */
	u32 nr_vcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];
	u64 hpa_offset; /* user guests: host address = GPA + hpa_offset */
	u64 ram_lo, ram_hi; /* host-physical span of its RAM */
	u32 state; /* DEVIRT_VM_* (hypercall.h) */
	/* Refused accesses, by kind (hypercall HV_INFO reports them). */
	u64 refused; /* memory outside the VM */
	u64 refused_io;
	u64 refused_msr;
	u64 refused_ipi;
	/* Legacy ports answered as on a modern board (legacy.c). */
	u64 legacy_io;
	u32 pci_conf_addr; /* PCI configuration mechanism #1's address */
	/* Log rate limit: a token bucket refilled with time (vm_refuse). */
	u64 log_tokens, log_stamp, log_dropped;
	u64 boot_tsc; /* kvmclock time zero */
	/* Device-file forwarding (devfile/hypercalls.c). */
	u64 df_calls, df_async, df_inflight, df_polled;
	u64 df_timed, df_call_tsc, df_driver_tsc; /* DEVFILE_INFO's timing */
	u64 df_window_pages; /* its pages mapped into driver windows now */
	u64 df_guest_pages; /* driver frames mapped into it now */
	u64 df_revoked; /* of those, taken back by the driver VM (GREVOKE) */
	u64 df_stalls; /* exits waiting for the stub to drop a revoked page */
	struct uart_state {
		u8 ier, lcr, mcr, scr, dll, dlm;
		bool thre_pending; /* THR-empty interrupt not yet read in IIR */
		bool irq_line;
		u32 len;
		char line[160];
	} uart;
	u32 rtc_index; /* CMOS register selected at port 0x70 (rtc.c) */
	struct ioapic_state {
		u32 sel;
		u64 rte[24];
	} ioapic;
};

/* Guest-physical layout of a user guest (guest.c). */
#define GUEST_HIGHMEM 0x100000ULL
#define IOAPIC_GPA 0xfec00000ULL

extern const struct arch_ops *arch;
extern struct boot_info *boot_info;

enum refuse_kind { REFUSE_MEM, REFUSE_IO, REFUSE_MSR, REFUSE_IPI };
/* Count a refused access and log it, rate-limited per VM. */
void vm_refuse(struct vm *vm, u32 kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct vm *vm_get(u32 id);
u32 vm_count(void);

/* vcpu.c */
void __attribute__((noreturn)) vcpu_loop(struct vcpu *vcpu);
/* Advance RIP past @len bytes, or the exiting instruction if @len is 0. */
void vcpu_skip(struct vcpu *vcpu, u32 len);

/* vm.c */
int vm_create_driver(struct vm **out);
/* guest.c: user guests, each on a CPU of its own. */
void guests_create(void);
void __attribute__((noreturn)) vcpu_stop_vm(struct vcpu *vcpu, const char *why);
int load_linux(struct vm *vm, struct entry_state *st);
void *gpa_to_hva(struct vm *vm, u64 gpa);
/* io.c, uart.c, ioapic.c, kvmclock.c */
void handle_io(struct vcpu *vcpu, const struct exit_info *ex);
bool uart_io(struct vcpu *vcpu, u16 port, bool in, u32 *val);
bool rtc_io(struct vcpu *vcpu, u16 port, bool in, u32 *val);
bool legacy_io(struct vcpu *vcpu, u16 port, bool in, u32 size, u32 *val);
void ioapic_set_irq(struct vcpu *vcpu, u32 pin, bool level);
bool ioapic_handle_fault(struct vcpu *vcpu, const struct exit_info *ex);
bool kvmclock_msr(struct vcpu *vcpu, u32 msr, bool write, u64 *val);

void hypercall_init(void);
void madt_keep_only(u64 rsdp, u32 apic_id);

/* gmem.c: guest memory access through the VM's second-level tables. */
int gpa_read(struct vm *vm, u64 gpa, void *buf, u64 len);
int gpa_write(struct vm *vm, u64 gpa, const void *buf, u64 len);
#define GVA_WRITE 1u
#define GVA_USER 2u
int gva_to_gpa(struct vcpu *vcpu, u64 gva, u32 access, u64 *gpa);
int gva_walk64(struct vm *vm, u64 cr3, bool la57, u64 gva, u32 access,
	       u64 *gpa);
/* The last walk of gva_walk64_run(); region ~0 starts afresh. */
struct gva_run {
	u64 region; /* gva >> 21 of the last 4 KiB walk, ~0 if none */
	u64 pt; /* guest-physical address of its page table */
	u64 cr3;
	u32 access;
};
int gva_walk64_run(struct vm *vm, u64 cr3, bool la57, u64 gva, u32 access,
		   u64 *gpa, struct gva_run *run);
int gva_read(struct vcpu *vcpu, u64 gva, void *buf, u64 len);
int gva_write(struct vcpu *vcpu, u64 gva, const void *buf, u64 len);

/* hypercall.c, cpuid.c, msr.c, emulate.c */
void handle_hypercall(struct vcpu *vcpu);
void handle_cpuid(struct vcpu *vcpu);
u64 vm_xcr0_allowed(void);
void handle_msr(struct vcpu *vcpu, bool write);
/* User guests: MSR writes that could reach beyond their CPU exit. */
void msr_guest_policy(struct vcpu *vcpu);
void handle_refused_access(struct vcpu *vcpu, const struct exit_info *ex);

/* vcpu.c: remote stage-2 flushes (revocation). */
void vcpu_flush_requested(struct vcpu *vcpu);
bool vm_flush_remote(struct vm *vm);

/* Complete the guest's MOV to/from @gpa through @fn; -1 if not decodable. */
typedef void (*mmio_fn)(struct vcpu *vcpu, u64 gpa, u32 size, bool write,
			u64 *val);
int mmio_emulate(struct vcpu *vcpu, u64 gpa, mmio_fn fn);

/* apic.c */
int apic_trap_init(struct vm *vm);
bool apic_handle_fault(struct vcpu *vcpu, const struct exit_info *ex);
bool icr_allowed(struct vcpu *vcpu, u64 *icr, bool x2apic);
void apic_self_ipi(u8 vector);
void apic_send_fixed(u32 apic_id, u8 vector);
void apic_send_nmi(u32 apic_id);
/* devfile/hypercalls.c */
void devfile_init(void);
void devfile_vm_stopped(struct vm *vm);
bool devfile_stage2_stall(struct vcpu *vcpu, u64 gpa);
s64 devfile_hypercall(struct vcpu *vcpu, u64 nr, u64 a0, u64 a1, u64 a2);
/* Emulated TSC-deadline timer on the real LAPIC timer (no native one). */
extern bool tsc_deadline_native;
extern u64 lapic_timer_hz;
void apic_timer_calibrate(void);
void tsc_deadline_write(struct vcpu *vcpu, u64 deadline);
u64 tsc_deadline_read(struct vcpu *vcpu);
void lvtt_write(struct vcpu *vcpu, u32 val);

#endif
