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
	u32 exit_len; /* length of the instruction that exited */
	u64 exits;
	u64 exit_count[32]; /* per enum exit_reason */
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
	u64 refused; /* accesses refused by second-level protection */
	u64 refused_logged;
};

extern const struct arch_ops *arch;
extern struct boot_info *boot_info;

/* vcpu.c */
void __attribute__((noreturn)) vcpu_loop(struct vcpu *vcpu);
/* Advance RIP past @len bytes, or the exiting instruction if @len is 0. */
void vcpu_skip(struct vcpu *vcpu, u32 len);

/* vm.c */
int vm_create_driver(struct vm **out);
void hypercall_init(void);
void madt_keep_only(u64 rsdp, u32 apic_id);

/* gmem.c: guest memory access through the VM's second-level tables. */
int gpa_read(struct vm *vm, u64 gpa, void *buf, u64 len);
int gpa_write(struct vm *vm, u64 gpa, const void *buf, u64 len);
#define GVA_WRITE 1u
#define GVA_USER 2u
int gva_to_gpa(struct vcpu *vcpu, u64 gva, u32 access, u64 *gpa);
int gva_read(struct vcpu *vcpu, u64 gva, void *buf, u64 len);
int gva_write(struct vcpu *vcpu, u64 gva, const void *buf, u64 len);

/* hypercall.c, cpuid.c, msr.c, emulate.c */
void handle_hypercall(struct vcpu *vcpu);
void handle_cpuid(struct vcpu *vcpu);
u64 vm_xcr0_allowed(void);
void handle_msr(struct vcpu *vcpu, bool write);
void handle_refused_access(struct vcpu *vcpu, const struct exit_info *ex);

/* Complete the guest's MOV to/from @gpa through @fn; -1 if not decodable. */
typedef void (*mmio_fn)(struct vcpu *vcpu, u64 gpa, u32 size, bool write,
			u64 *val);
int mmio_emulate(struct vcpu *vcpu, u64 gpa, mmio_fn fn);

/* apic.c */
int apic_trap_init(struct vm *vm);
bool apic_handle_fault(struct vcpu *vcpu, const struct exit_info *ex);
bool icr_allowed(struct vcpu *vcpu, u64 *icr, bool x2apic);

#endif
