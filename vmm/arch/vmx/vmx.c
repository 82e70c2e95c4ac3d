// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VT-x back end: VMX operation, the VMCS of each vCPU, VM entry and
 * exit, and the decoding of exits into the common enum exit_reason.
 *
 * The driver VM owns the platform: it takes physical interrupts and NMIs
 * through its own IDT, touches devices directly and sees almost every MSR.
 * So the VMCS intercepts little: CPUID, VMCALL, XSETBV and the VMX
 * instructions (all unconditional, SDM Vol. 3C 26.1.2), MSRs the core asks
 * for, EPT violations, and the few CR0/CR4 bits that VMX operation pins.
 *
 * Section numbers refer to the Intel SDM Vol. 3C (order no. 326019-081).
 */
#include "../arch.h"
#include "../../vm/vm.h"
#include "../../vm/event.h"
#include "../../core/lib.h"
#include "../../core/x86.h"
#include "../../core/palloc.h"
#include "../../core/spinlock.h"
#include "../../core/smp.h"
#include "vmx.h"

#define VMX_MAX_CPUS 16
#define GUEST_PAT_DEFAULT 0x0007040600070406ULL /* power-up PAT (11.12.4) */
#define CR0_TS (1ULL << 3)
#define CR0_NW (1ULL << 29)
#define CR0_CD (1ULL << 30)
#define CR4_PCIDE (1ULL << 17)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define CR4_TLB_BITS                                                     \
	(CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | \
	 CR4_LA57)
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_XSAVE (1u << 26)
#define VEC_GP 13

/* The trampoline relies on this layout (vmx_entry.S). */
_Static_assert(__builtin_offsetof(struct vcpu, regs) == 0, "regs first");
_Static_assert(__builtin_offsetof(struct guest_regs, rax) == 0x00, "rax");
_Static_assert(__builtin_offsetof(struct guest_regs, rsp) == 0x20, "rsp");
_Static_assert(__builtin_offsetof(struct guest_regs, rdi) == 0x38, "rdi");
_Static_assert(__builtin_offsetof(struct guest_regs, r15) == 0x78, "r15");

/* Capabilities and the controls chosen from them; the same on every CPU. */
static struct {
	bool ready;
	u32 revision;
	u64 basic;
	u64 ept_vpid_cap;
	u32 pin, cpu, cpu2, exit, entry;
	u64 cr0_must1, cr0_must0; /* A.7, relaxed for unrestricted guest */
	u64 cr4_must1, cr4_must0; /* A.8 */
	bool vpid;
	bool invept_single;
} vmx;

/* Per physical CPU: VMX operation and the host TSS VM exits need. */
struct vmx_cpu {
	bool used;
	bool on; /* in VMX root operation */
	u32 apic_id;
	void *vmxon; /* VMXON region (25.11.5) */
	u64 current_vmcs; /* physical address of the current VMCS, or 0 */
	u64 *gdt; /* our copy of the firmware GDT, plus a TSS descriptor */
	u8 *tss;
};

static struct vmx_cpu vmx_cpus[VMX_MAX_CPUS];
static spinlock_t vmx_cpus_lock;

/* Per vCPU; lives in its own page from page_alloc(). */
struct vmx_vcpu {
	struct vmx_cpu *cpu;
	void *vmcs;
	u64 vmcs_pa;
	u8 *msr_bitmap; /* 25.6.9 */
	u8 *io_bitmap; /* A and B, two contiguous pages (25.6.4) */
	u64 eptp;
	u16 vpid;
	bool launched;
	bool nmi_exiting; /* a user guest: NMIs are devirt's kicks */
	u32 entry_ctls;
	u64 cr0_mask, cr4_mask;
	u64 exit_rip; /* guest RIP at the last exit */
	/*
	 * Events for the next entry: the one an exit interrupted (28.2.4)
	 * and the exception the core raised (vm/event.h).
	 */
	struct event_queue ev;
	/* Last exit, for dump(). */
	u32 last_reason;
	u64 last_qual;
	u32 last_insn_err;
};

struct desc_ptr {
	u16 limit;
	u64 base;
} __attribute__((packed));

/* VMX instructions. A failure sets CF or ZF (31.2): "setna" catches both. */

static inline int vmwrite_err(u64 field, u64 val)
{
	u8 fail;

	asm volatile("vmwrite %[val], %[field]\n\tsetna %[fail]"
		     : [fail] "=qm"(fail)
		     : [field] "r"(field), [val] "rm"(val)
		     : "cc", "memory");
	return fail;
}

static inline u64 vmread(u64 field)
{
	u64 val;

	asm volatile("vmread %[field], %[val]"
		     : [val] "=r"(val)
		     : [field] "r"(field)
		     : "cc");
	return val;
}

static inline int vmxon(u64 pa)
{
	u8 fail;

	asm volatile("vmxon %[pa]\n\tsetna %[fail]"
		     : [fail] "=qm"(fail)
		     : [pa] "m"(pa)
		     : "cc", "memory");
	return fail;
}

static inline int vmclear(u64 pa)
{
	u8 fail;

	asm volatile("vmclear %[pa]\n\tsetna %[fail]"
		     : [fail] "=qm"(fail)
		     : [pa] "m"(pa)
		     : "cc", "memory");
	return fail;
}

static inline int vmptrld(u64 pa)
{
	u8 fail;

	asm volatile("vmptrld %[pa]\n\tsetna %[fail]"
		     : [fail] "=qm"(fail)
		     : [pa] "m"(pa)
		     : "cc", "memory");
	return fail;
}

static inline int invept(u64 type, u64 eptp)
{
	struct {
		u64 eptp, rsvd;
	} desc = { eptp, 0 };
	u8 fail;

	asm volatile("invept %[desc], %[type]\n\tsetna %[fail]"
		     : [fail] "=qm"(fail)
		     : [desc] "m"(desc), [type] "r"(type)
		     : "cc", "memory");
	return fail;
}

static inline int invvpid(u64 type, u16 vpid)
{
	struct {
		u64 vpid, gla;
	} desc = { vpid, 0 };
	u8 fail;

	asm volatile("invvpid %[desc], %[type]\n\tsetna %[fail]"
		     : [fail] "=qm"(fail)
		     : [desc] "m"(desc), [type] "r"(type)
		     : "cc", "memory");
	return fail;
}

#define READ_SEG(seg)                                             \
	({                                                        \
		u16 __sel;                                        \
		asm volatile("mov %%" #seg ", %0" : "=r"(__sel)); \
		__sel;                                            \
	})

static inline u16 read_tr(void)
{
	u16 sel;

	asm volatile("str %0" : "=r"(sel));
	return sel;
}

static inline void read_gdtr(struct desc_ptr *d)
{
	asm volatile("sgdt %0" : "=m"(*d));
}

static inline void read_idtr(struct desc_ptr *d)
{
	asm volatile("sidt %0" : "=m"(*d));
}

static inline u64 read_cr8(void)
{
	u64 v;

	asm volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static inline void write_cr8(u64 v)
{
	asm volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

static const char *insn_error_str(u32 err)
{
	/* 31.4 "VM Instruction Error Numbers" (the ones we can cause). */
	switch (err) {
	case 4:
		return "VMLAUNCH with non-clear VMCS";
	case 5:
		return "VMRESUME with non-launched VMCS";
	case 7:
		return "VM entry with invalid control field(s)";
	case 8:
		return "VM entry with invalid host-state field(s)";
	case 9:
		return "VMPTRLD with invalid physical address";
	case 11:
		return "VMPTRLD with incorrect VMCS revision identifier";
	case 12:
		return "VMREAD/VMWRITE of unsupported VMCS component";
	case 13:
		return "VMWRITE to read-only VMCS component";
	case 15:
		return "VMXON executed in VMX root operation";
	case 26:
		return "VM entry with events blocked by MOV SS";
	case 28:
		return "invalid operand to INVEPT/INVVPID";
	default:
		return "see SDM 31.4";
	}
}

static int vmcs_errors;

static void vmwrite(u64 field, u64 val)
{
	if (vmwrite_err(field, val)) {
		u32 err = (u32)vmread(VM_INSTRUCTION_ERROR);

		pr_err("vmx: VMWRITE %x <- %lx failed: error %u (%s)\n",
		       (u32)field, val, err, insn_error_str(err));
		vmcs_errors++;
	}
}

static struct vmx_cpu *vmx_this_cpu(void)
{
	u32 a, b, c, d;

	/* Initial APIC ID, CPUID.1:EBX[31:24]; enough for xAPIC systems. */
	cpuid(1, 0, &a, &b, &c, &d);
	for (u32 i = 0; i < VMX_MAX_CPUS; i++)
		if (vmx_cpus[i].used && vmx_cpus[i].apic_id == b >> 24)
			return &vmx_cpus[i];
	return NULL;
}

static struct vmx_cpu *vmx_claim_cpu(void)
{
	struct vmx_cpu *c = vmx_this_cpu();
	u32 a, b, cx, d;

	if (c)
		return c;
	cpuid(1, 0, &a, &b, &cx, &d);
	spin_lock(&vmx_cpus_lock);
	for (u32 i = 0; i < VMX_MAX_CPUS && !c; i++) {
		if (!vmx_cpus[i].used) {
			c = &vmx_cpus[i];
			c->used = true;
			c->apic_id = b >> 24;
		}
	}
	spin_unlock(&vmx_cpus_lock);
	return c;
}

/*
 * A.3-A.5: the low word of a control MSR has the bits that must be 1, the
 * high word the bits that may be 1.
 */
static u32 ctl_adjust(u32 msr, u32 want)
{
	u64 cap = rdmsr(msr);

	return (want | (u32)cap) & (u32)(cap >> 32);
}

static bool ctl_check(const char *what, u32 val, u32 required, u32 forbidden)
{
	if ((val & required) != required) {
		pr_err("vmx: %s controls: required bits %x not supported\n",
		       what, required & ~val);
		return false;
	}
	if (val & forbidden) {
		pr_err("vmx: %s controls: bits %x cannot be cleared\n", what,
		       val & forbidden);
		return false;
	}
	return true;
}

/* Choose every control once, from the capability MSRs (Appendix A). */
static int vmx_probe(void)
{
	bool true_ctls;
	u64 cap2;
	u32 want2;

	vmx.basic = rdmsr(MSR_IA32_VMX_BASIC);
	vmx.revision = VMX_BASIC_REVISION(vmx.basic);
	if (VMX_BASIC_REGION_SIZE(vmx.basic) > PAGE_SIZE ||
	    VMX_BASIC_MEMTYPE(vmx.basic) != 6) {
		pr_err("vmx: unusable VMX_BASIC %lx (region size or not WB)\n",
		       vmx.basic);
		return -1;
	}
	/* A.1: bit 55 says the TRUE_* MSRs report the default1 bits. */
	true_ctls = vmx.basic & VMX_BASIC_TRUE_CTLS;

	/*
	 * Pin-based (25.6.1): no external-interrupt exiting and no NMI
	 * exiting. The driver VM owns the platform and takes physical
	 * interrupts and NMIs through its own IDT.
	 */
	vmx.pin = ctl_adjust(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
					 MSR_IA32_VMX_PINBASED_CTLS,
			     0);
	if (!ctl_check("pin-based", vmx.pin, 0,
		       PIN_EXTINT_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS |
			       PIN_PREEMPT_TIMER | PIN_POSTED_INTR))
		return -1;

	/*
	 * Primary processor-based (25.6.2):
	 * - use MSR bitmaps (25.6.9): only the MSRs the core asks for exit;
	 * - use I/O bitmaps (25.6.4), all zero: no port I/O exits, and
	 *   "unconditional I/O exiting" is ignored when this is set;
	 * - activate secondary controls, for EPT and unrestricted guest.
	 * Everything else clear where the TRUE MSRs allow it: no HLT, MWAIT,
	 * RDTSC or interrupt-window exiting, no CR3 exiting (EPT makes it
	 * pointless, 25.6.2 footnote on CR3 with EPT).
	 */
	vmx.cpu = ctl_adjust(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
					 MSR_IA32_VMX_PROCBASED_CTLS,
			     CPU_USE_MSR_BITMAPS | CPU_USE_IO_BITMAPS |
				     CPU_SECONDARY_CTLS);
	if (!ctl_check("primary processor-based", vmx.cpu,
		       CPU_USE_MSR_BITMAPS | CPU_USE_IO_BITMAPS |
			       CPU_SECONDARY_CTLS,
		       CPU_INTR_WINDOW | CPU_HLT_EXITING | CPU_NMI_WINDOW |
			       CPU_MOV_DR_EXITING | CPU_MONITOR_TRAP_FLAG |
			       CPU_TPR_SHADOW | CPU_TERTIARY_CTLS))
		return -1;

	/*
	 * Secondary processor-based (25.6.2, Table 25-7):
	 * - enable EPT (29.3): the driver VM's identity map;
	 * - unrestricted guest (26.8): lets the guest run with any CR0.PE/PG,
	 *   so Linux may enter its real-mode trampolines (reboot, AP start);
	 * - enable VPID (29.1): no TLB flush on each entry and exit;
	 * - enable RDTSCP, INVPCID and XSAVES/XRSTORS: without them these
	 *   instructions #UD in the guest (26.3.x, "Instructions That Cause
	 *   VM Exits Conditionally" and 25.6.2), and Linux uses all three;
	 * - enable user wait and pause (TPAUSE/UMWAIT), likewise.
	 * Each is set only if the allowed-1 settings permit it.
	 */
	cap2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
	want2 = CPU2_EPT | CPU2_UNRESTRICTED_GUEST | CPU2_RDTSCP |
		CPU2_INVPCID | CPU2_XSAVES | CPU2_USER_WAIT_PAUSE;
	vmx.ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	/* A.10: VPID is only useful with some INVVPID type to flush it. */
	if ((vmx.ept_vpid_cap & VPID_CAP_INVVPID) &&
	    (vmx.ept_vpid_cap &
	     (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL)))
		want2 |= CPU2_VPID;
	vmx.cpu2 = (want2 | (u32)cap2) & (u32)(cap2 >> 32);
	if (!ctl_check("secondary processor-based", vmx.cpu2,
		       CPU2_EPT | CPU2_UNRESTRICTED_GUEST,
		       CPU2_VIRT_APIC_ACCESS | CPU2_DESC_TABLE_EXITING |
			       CPU2_PML | CPU2_EPT_VE | CPU2_VMCS_SHADOWING))
		return -1;
	vmx.vpid = vmx.cpu2 & CPU2_VPID;

	/* EPT (A.10): 4-level walk and WB tables (EPTP, 25.6.11), 2M pages
	 * for the stage-2 builder, 1G pages when present. */
	if (!(vmx.ept_vpid_cap & EPT_CAP_WALK_4) ||
	    !(vmx.ept_vpid_cap & EPT_CAP_WB) ||
	    !(vmx.ept_vpid_cap & EPT_CAP_2M) ||
	    !(vmx.ept_vpid_cap & EPT_CAP_INVEPT)) {
		pr_err("vmx: EPT lacks 4-level walk, WB, 2M pages or INVEPT (cap %lx)\n",
		       vmx.ept_vpid_cap);
		return -1;
	}
	vmx.invept_single = vmx.ept_vpid_cap & EPT_CAP_INVEPT_SINGLE;
	ept_format_rw.has_1g = vmx.ept_vpid_cap & EPT_CAP_1G;

	/*
	 * VM-exit controls (25.7.1):
	 * - host address-space size: the hypervisor is 64-bit (28.5);
	 * - save/load IA32_EFER and IA32_PAT: guest and host keep their own
	 *   values, and the guest writes both without exits (28.3.1, 28.5.1);
	 * - "acknowledge interrupt on exit" stays clear: interrupts are not
	 *   intercepted, and one that did exit must stay pending for the
	 *   guest's IDT.
	 * Save debug controls is default1: DR7/DEBUGCTL travel with the guest.
	 */
	vmx.exit = ctl_adjust(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
					  MSR_IA32_VMX_EXIT_CTLS,
			      EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER |
				      EXIT_LOAD_EFER | EXIT_SAVE_PAT |
				      EXIT_LOAD_PAT | EXIT_SAVE_DEBUG_CTLS);
	if (!ctl_check("VM-exit", vmx.exit,
		       EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER |
			       EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT,
		       EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_PREEMPT_TIMER))
		return -1;

	/*
	 * VM-entry controls (25.8.1):
	 * - load IA32_EFER and IA32_PAT from the guest fields (27.3.2.1);
	 * - IA-32e mode guest for the 64-bit Linux entry; hardware keeps it
	 *   equal to EFER.LMA on every exit (28.2, 28.3.1);
	 * - load debug controls (default1): guest DR7 and IA32_DEBUGCTL.
	 */
	vmx.entry = ctl_adjust(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
					   MSR_IA32_VMX_ENTRY_CTLS,
			       ENTRY_IA32E_MODE | ENTRY_LOAD_EFER |
				       ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG_CTLS);
	if (!ctl_check("VM-entry", vmx.entry,
		       ENTRY_IA32E_MODE | ENTRY_LOAD_EFER | ENTRY_LOAD_PAT,
		       ENTRY_SMM | ENTRY_DEACT_DUAL_MONITOR))
		return -1;

	/*
	 * CR0/CR4 bits fixed in VMX operation (A.7, A.8). Unrestricted guest
	 * frees CR0.PE and CR0.PG for the guest (26.3.1.1).
	 */
	vmx.cr0_must1 = rdmsr(MSR_IA32_VMX_CR0_FIXED0) & ~(CR0_PE | CR0_PG);
	vmx.cr0_must0 = ~rdmsr(MSR_IA32_VMX_CR0_FIXED1) & 0xffffffffULL;
	vmx.cr4_must1 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	vmx.cr4_must0 = ~rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	vmx.ready = true;
	return 0;
}

/* Base of a system-segment descriptor (16 bytes in IA-32e mode, 3.5). */
static u64 desc_base(const u8 *d)
{
	return (u64)d[2] | (u64)d[3] << 8 | (u64)d[4] << 16 | (u64)d[7] << 24 |
	       (u64) * (const u32 *)(d + 8) << 32;
}

/*
 * VM exits load TR from the host-state area and require a non-null
 * selector (26.2.3). UEFI firmware leaves TR at 0, so give this CPU a copy
 * of the live GDT with a 64-bit TSS appended, and load it. The selectors
 * already in use keep meaning the same descriptors.
 */
static int host_tss_setup(struct vmx_cpu *c)
{
	struct desc_ptr gdtr, ngdt;
	u32 sel;
	u8 *d;
	u64 tss;

	read_gdtr(&gdtr);
	sel = (u32)ALIGN_UP((u64)gdtr.limit + 1, 8);
	if (sel + 16 > PAGE_SIZE / 2) {
		pr_err("vmx: host GDT too large to copy (limit %x)\n",
		       gdtr.limit);
		return -1;
	}
	if (!c->gdt) {
		c->gdt = page_alloc();
		if (!c->gdt)
			return -1;
		/* Second half of the page: a 104-byte TSS (8.7). */
		c->tss = (u8 *)c->gdt + PAGE_SIZE / 2;
	}
	memcpy(c->gdt, (void *)(uintptr_t)gdtr.base, (size_t)gdtr.limit + 1);
	memset(c->tss, 0, 0x68);
	*(u16 *)(c->tss + 0x66) = 0x68; /* I/O map base past the limit */

	tss = virt_to_phys(c->tss);
	d = (u8 *)c->gdt + sel;
	memset(d, 0, 16);
	d[0] = 0x67; /* limit 15:0 */
	d[2] = (u8)tss;
	d[3] = (u8)(tss >> 8);
	d[4] = (u8)(tss >> 16);
	d[5] = 0x89; /* P, DPL 0, type 9: available 64-bit TSS */
	d[7] = (u8)(tss >> 24);
	*(u32 *)(d + 8) = (u32)(tss >> 32);

	ngdt.limit = (u16)(sel + 15);
	ngdt.base = virt_to_phys(c->gdt);
	asm volatile("lgdt %0" : : "m"(ngdt) : "memory");
	asm volatile("ltr %w0" : : "r"((u16)sel) : "memory");
	pr_info("vmx: host TSS at %lx, TR selector %x\n", tss, sel);
	return 0;
}

static int vmx_cpu_init(void)
{
	struct vmx_cpu *c;
	u32 a, b, cx, d;
	u64 fc, cr0, cr4;

	cpuid(1, 0, &a, &b, &cx, &d);
	if (!(cx & CPUID1_ECX_VMX)) {
		pr_err("vmx: CPUID.1:ECX.VMX is 0: this CPU has no VT-x\n");
		return -1;
	}

	/* 23.7: VMXON needs IA32_FEATURE_CONTROL locked with VMX enabled. */
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		fc |= FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
	} else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		pr_err("vmx: VT-x is disabled and locked by the firmware (IA32_FEATURE_CONTROL=%lx); enable it in the firmware setup\n",
		       fc);
		return -1;
	}

	if (!vmx.ready && vmx_probe())
		return -1;

	c = vmx_claim_cpu();
	if (!c) {
		pr_err("vmx: more than %u CPUs\n", VMX_MAX_CPUS);
		return -1;
	}
	if (c->on)
		return 0;

	if (read_tr() == 0 && host_tss_setup(c))
		return -1;

	/*
	 * 23.8: CR0 and CR4 must respect the VMX fixed bits. Also enable
	 * CR4.OSXSAVE where XSAVE exists: VM exits reload this CR4, and the
	 * core needs it to execute XSETBV on the guest's behalf.
	 */
	cr0 = (read_cr0() | rdmsr(MSR_IA32_VMX_CR0_FIXED0)) &
	      rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	write_cr0(cr0);
	cr4 = read_cr4() | CR4_VMXE | rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	if (cx & CPUID1_ECX_XSAVE)
		cr4 |= CR4_OSXSAVE;
	write_cr4(cr4 & rdmsr(MSR_IA32_VMX_CR4_FIXED1));

	/* 25.11.5: the VMXON region starts with the VMCS revision id. */
	if (!c->vmxon)
		c->vmxon = page_alloc();
	if (!c->vmxon)
		return -1;
	if ((vmx.basic & VMX_BASIC_32BIT_PA) && virt_to_phys(c->vmxon) >> 32) {
		pr_err("vmx: VMX limited to 32-bit addresses, heap is above 4G\n");
		return -1;
	}
	*(u32 *)c->vmxon = vmx.revision;
	if (vmxon(virt_to_phys(c->vmxon))) {
		pr_err("vmx: VMXON failed (already in VMX operation?)\n");
		return -1;
	}
	c->on = true;
	c->current_vmcs = 0;
	pr_info("vmx: VMXON on CPU apic %u, revision %x, controls pin %x cpu %x cpu2 %x exit %x entry %x\n",
		c->apic_id, vmx.revision, vmx.pin, vmx.cpu, vmx.cpu2, vmx.exit,
		vmx.entry);
	return 0;
}

static void vmx_features(char *buf, size_t len)
{
	snprintf(buf, len, "EPT%s%s unrestricted-guest%s%s%s%s x2apic-virt:no",
		 ept_format_rw.has_1g ? " 1G-pages" : "",
		 vmx.vpid ? " VPID" : "",
		 vmx.cpu2 & CPU2_RDTSCP ? " RDTSCP" : "",
		 vmx.cpu2 & CPU2_INVPCID ? " INVPCID" : "",
		 vmx.cpu2 & CPU2_XSAVES ? " XSAVES" : "",
		 vmx.invept_single ? "" : " invept:all-context");
}

/* Make @v's VMCS current on this CPU (25.1: one current VMCS per CPU). */
static void vmcs_load(struct vmx_vcpu *v)
{
	if (v->cpu->current_vmcs == v->vmcs_pa)
		return;
	if (vmptrld(v->vmcs_pa))
		pr_err("vmx: VMPTRLD %lx failed\n", v->vmcs_pa);
	else
		v->cpu->current_vmcs = v->vmcs_pa;
}

static void vmx_flush_vpid(struct vmx_vcpu *v)
{
	if (!vmx.vpid)
		return;
	if (vmx.ept_vpid_cap & VPID_CAP_INVVPID_SINGLE)
		invvpid(INVVPID_SINGLE, v->vpid);
	else
		invvpid(INVVPID_ALL, 0);
}

static void vmx_flush_ept(struct vmx_vcpu *v)
{
	/* 29.4.3.1: a changed EPT entry needs INVEPT before it is relied on. */
	if (vmx.invept_single)
		invept(INVEPT_SINGLE, v->eptp);
	else
		invept(INVEPT_ALL, 0);
}

static void vmcs_host_state(void)
{
	struct desc_ptr gdtr, idtr;
	u16 tr = read_tr();
	const u8 *trd;

	read_gdtr(&gdtr);
	read_idtr(&idtr);
	trd = (const u8 *)(uintptr_t)gdtr.base + (tr & ~7u);

	/* 26.2.2, 26.2.3 and 28.5: what a VM exit loads. */
	vmwrite(HOST_CR0, read_cr0());
	vmwrite(HOST_CR3, read_cr3());
	vmwrite(HOST_CR4, read_cr4());
	/* 26.2.3: host selectors need RPL 0 and TI 0. */
	vmwrite(HOST_CS_SELECTOR, READ_SEG(cs) & 0xf8);
	vmwrite(HOST_SS_SELECTOR, READ_SEG(ss) & 0xf8);
	vmwrite(HOST_DS_SELECTOR, READ_SEG(ds) & 0xf8);
	vmwrite(HOST_ES_SELECTOR, READ_SEG(es) & 0xf8);
	vmwrite(HOST_FS_SELECTOR, READ_SEG(fs) & 0xf8);
	vmwrite(HOST_GS_SELECTOR, READ_SEG(gs) & 0xf8);
	vmwrite(HOST_TR_SELECTOR, tr & 0xf8);
	vmwrite(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmwrite(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmwrite(HOST_TR_BASE, desc_base(trd));
	vmwrite(HOST_GDTR_BASE, gdtr.base);
	vmwrite(HOST_IDTR_BASE, idtr.base);
	vmwrite(HOST_IA32_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
	vmwrite(HOST_IA32_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
	vmwrite(HOST_IA32_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
	vmwrite(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmwrite(HOST_IA32_EFER, rdmsr(MSR_EFER));
	/* HOST_RSP is written by vmx_enter() right before each entry. */
	vmwrite(HOST_RIP, (u64)(uintptr_t)vmx_exit_stub);
}

static void vmcs_guest_state(struct vmx_vcpu *v, const struct entry_state *st)
{
	/* 64-bit flat segments of the Linux boot protocol (boot.rst). */
	const u32 code_ar = AR_TYPE_CODE_XR_A | AR_S | AR_P | AR_L | AR_G;
	const u32 data_ar = AR_TYPE_DATA_RW_A | AR_S | AR_P | AR_DB | AR_G;
	static const u32 data_segs[][4] = {
		{ GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT,
		  GUEST_DS_AR },
		{ GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT,
		  GUEST_ES_AR },
		{ GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT,
		  GUEST_SS_AR },
		{ GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT,
		  GUEST_FS_AR },
		{ GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT,
		  GUEST_GS_AR },
	};
	u64 cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_NE;
	u64 cr4 = CR4_PAE;

	vmwrite(GUEST_CS_SELECTOR, 0x10);
	vmwrite(GUEST_CS_BASE, 0);
	vmwrite(GUEST_CS_LIMIT, 0xffffffff);
	vmwrite(GUEST_CS_AR, code_ar);
	for (u32 i = 0; i < ARRAY_SIZE(data_segs); i++) {
		vmwrite(data_segs[i][0], 0x18);
		vmwrite(data_segs[i][1], 0);
		vmwrite(data_segs[i][2], 0xffffffff);
		vmwrite(data_segs[i][3], data_ar);
	}
	/* 26.3.1.2: TR must be a usable busy TSS; LDTR may be unusable. */
	vmwrite(GUEST_TR_SELECTOR, 0);
	vmwrite(GUEST_TR_BASE, 0);
	vmwrite(GUEST_TR_LIMIT, 0x67);
	vmwrite(GUEST_TR_AR, AR_TYPE_TSS64_BUSY | AR_P);
	vmwrite(GUEST_LDTR_SELECTOR, 0);
	vmwrite(GUEST_LDTR_BASE, 0);
	vmwrite(GUEST_LDTR_LIMIT, 0);
	vmwrite(GUEST_LDTR_AR, AR_UNUSABLE);
	vmwrite(GUEST_GDTR_BASE, st->gdt_base);
	vmwrite(GUEST_GDTR_LIMIT, st->gdt_limit);
	vmwrite(GUEST_IDTR_BASE, 0);
	vmwrite(GUEST_IDTR_LIMIT, 0);

	/*
	 * 25.6.6: guest/host masks own the CR0/CR4 bits that VMX pins
	 * (A.7, A.8). The guest reads them from the shadows, so it sees
	 * CR4.VMXE=0, and a MOV that would change them exits (26.1.3) and is
	 * emulated in vmx_cr_access().
	 */
	v->cr0_mask = vmx.cr0_must1 | vmx.cr0_must0;
	v->cr4_mask = vmx.cr4_must1 | vmx.cr4_must0;
	vmwrite(CR0_GUEST_HOST_MASK, v->cr0_mask);
	vmwrite(CR4_GUEST_HOST_MASK, v->cr4_mask);
	vmwrite(CR0_READ_SHADOW, cr0);
	vmwrite(CR4_READ_SHADOW, cr4);
	vmwrite(GUEST_CR0, (cr0 | vmx.cr0_must1) & ~vmx.cr0_must0);
	vmwrite(GUEST_CR4, (cr4 | vmx.cr4_must1) & ~vmx.cr4_must0);
	vmwrite(GUEST_CR3, st->cr3);
	vmwrite(GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	vmwrite(GUEST_IA32_PAT, GUEST_PAT_DEFAULT);
	vmwrite(GUEST_IA32_DEBUGCTL, 0);
	vmwrite(GUEST_DR7, 0x400);
	vmwrite(GUEST_SYSENTER_CS, 0);
	vmwrite(GUEST_SYSENTER_ESP, 0);
	vmwrite(GUEST_SYSENTER_EIP, 0);
	vmwrite(GUEST_RIP, st->rip);
	vmwrite(GUEST_RFLAGS, 2);
	vmwrite(GUEST_RSP, 0);
	vmwrite(GUEST_ACTIVITY_STATE, 0); /* active (25.4.2) */
	vmwrite(GUEST_INTERRUPTIBILITY, 0);
	vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	/* 25.4.2: no shadow VMCS; ~0 keeps the link pointer checks off. */
	vmwrite(VMCS_LINK_POINTER, ~0ULL);
}

static void vmcs_controls(struct vcpu *vcpu, struct vmx_vcpu *v)
{
	/*
	 * 25.6.1: a user guest gets NMI exiting. Its only NMIs are devirt's
	 * kicks (vm_flush_remote), which must make it exit; the driver VM
	 * keeps taking the platform's NMIs directly.
	 */
	v->nmi_exiting = vcpu->vm->role == VM_ROLE_GUEST;
	vmwrite(PIN_BASED_VM_EXEC_CONTROL,
		vmx.pin | (v->nmi_exiting ? PIN_NMI_EXITING : 0));
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmx.cpu);
	vmwrite(SECONDARY_VM_EXEC_CONTROL, vmx.cpu2);
	vmwrite(VM_EXIT_CONTROLS, vmx.exit);
	v->entry_ctls = vmx.entry;
	vmwrite(VM_ENTRY_CONTROLS, v->entry_ctls);

	/* 25.6.3: no exception exits; the guest handles its own faults. */
	vmwrite(EXCEPTION_BITMAP, 0);
	vmwrite(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmwrite(CR3_TARGET_COUNT, 0);
	vmwrite(TSC_OFFSET, 0);
	vmwrite(IO_BITMAP_A, virt_to_phys(v->io_bitmap));
	vmwrite(IO_BITMAP_B, virt_to_phys(v->io_bitmap + PAGE_SIZE));
	vmwrite(MSR_BITMAP, virt_to_phys(v->msr_bitmap));
	vmwrite(VM_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VM_ENTRY_INTR_INFO, 0);
	/* 25.6.20: XSAVES/XRSTORS of no XSS component exits. */
	if (vmx.cpu2 & CPU2_XSAVES)
		vmwrite(XSS_EXIT_BITMAP, 0);
	/* 25.6.11: EPTP: WB paging structures, 4-level walk, no A/D. */
	v->eptp = s2_root_pa(&vcpu->vm->s2) | EPTP_WALK_4 | EPTP_MT_WB;
	vmwrite(EPT_POINTER, v->eptp);
	if (vmx.vpid)
		vmwrite(VMCS_VPID, v->vpid); /* 25.6.12: must not be 0 */
}

static int vmx_vcpu_init(struct vcpu *vcpu, const struct entry_state *st)
{
	struct vmx_cpu *c = vmx_this_cpu();
	struct vmx_vcpu *v;

	if (!c || !c->on) {
		pr_err("vmx: vcpu_init on a CPU without VMX operation\n");
		return -1;
	}
	if (!vcpu->vm || !vcpu->vm->s2.root) {
		pr_err("vmx: vcpu %u has no EPT root\n", vcpu->id);
		return -1;
	}
	if (read_tr() == 0 && host_tss_setup(c))
		return -1;

	v = page_alloc();
	if (!v)
		return -1;
	v->cpu = c;
	v->vmcs = page_alloc();
	v->msr_bitmap = page_alloc();
	v->io_bitmap = pages_alloc(2);
	if (!v->vmcs || !v->msr_bitmap || !v->io_bitmap) {
		pr_err("vmx: out of pages for the VMCS\n");
		return -1;
	}
	v->vmcs_pa = virt_to_phys(v->vmcs);
	v->vpid = (u16)(vcpu->vm->id + 1);
	vcpu->arch = v;

	/* 25.2: a VMCS region starts with the revision id, bit 31 clear. */
	*(u32 *)v->vmcs = vmx.revision;
	/* 25.11.3: VMCLEAR sets the launch state to clear. */
	if (vmclear(v->vmcs_pa)) {
		pr_err("vmx: VMCLEAR failed\n");
		return -1;
	}
	vmcs_load(v);
	if (c->current_vmcs != v->vmcs_pa)
		return -1;

	vmcs_errors = 0;
	vmcs_controls(vcpu, v);
	vmcs_host_state();
	vmcs_guest_state(v, st);
	if (vmcs_errors)
		return -1;

	vcpu->regs.rip = st->rip;
	vcpu->regs.rsi = st->rsi;
	vcpu->regs.rflags = 2; /* bit 1 is reserved as 1 (3.4.3) */
	v->exit_rip = st->rip;

	/* Nothing cached from a previous use of these tags may survive. */
	vmx_flush_ept(v);
	vmx_flush_vpid(v);
	return 0;
}

static u64 vmx_guest_cr0(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = vcpu->arch;

	vmcs_load(v);
	return (vmread(GUEST_CR0) & ~v->cr0_mask) |
	       (vmread(CR0_READ_SHADOW) & v->cr0_mask);
}

static u64 vmx_guest_cr3(struct vcpu *vcpu)
{
	vmcs_load(vcpu->arch);
	return vmread(GUEST_CR3);
}

static u64 vmx_guest_cr4(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = vcpu->arch;

	vmcs_load(v);
	return (vmread(GUEST_CR4) & ~v->cr4_mask) |
	       (vmread(CR4_READ_SHADOW) & v->cr4_mask);
}

static u64 vmx_guest_efer(struct vcpu *vcpu)
{
	vmcs_load(vcpu->arch);
	return vmread(GUEST_IA32_EFER);
}

static u32 vmx_guest_cpl(struct vcpu *vcpu)
{
	vmcs_load(vcpu->arch);
	/* 25.4.1: the CPL is SS.DPL. */
	return AR_DPL((u32)vmread(GUEST_SS_AR));
}

static bool exception_has_error_code(u8 vector)
{
	/* 6.13 / Table 6-1: #DF #TS #NP #SS #GP #PF #AC #CP. */
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 ||
	       vector == 21;
}

static void vmx_inject_exception(struct vcpu *vcpu, u8 vector, bool has_err,
				 u32 err)
{
	/*
	 * 26.2.1.3: the error-code bit must match the vector in protected
	 * mode; trust the architecture over the caller. Vector 2 is raised
	 * as an NMI by vmx_inject_pending().
	 */
	(void)has_err;
	event_raise(&((struct vmx_vcpu *)vcpu->arch)->ev, vector,
		    exception_has_error_code(vector) &&
			    (vmx_guest_cr0(vcpu) & CR0_PE),
		    err);
}

/*
 * Write the event for the next entry into the VM-entry interruption fields
 * (25.8.3), merged by vm/event.c. False: a fault while delivering #DF, the
 * VM shuts down (6.15).
 */
static bool vmx_inject_pending(struct vcpu *vcpu, struct vmx_vcpu *v)
{
	u32 info, err, len;

	if (!event_next(&v->ev, &info, &err, &len))
		return false;
	/*
	 * An NMI taken in root mode (core/traps.S) goes to this CPU's VM
	 * once nothing else is injected and the VM does not block NMIs: an
	 * NMI injection needs blocking-by-NMI clear (26.3.1.5).
	 */
	if (!info && !(vmread(GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_NMI) &&
	    smp_take_nmi(vcpu->pcpu))
		info = INTR_INFO_VALID | INTR_TYPE_NMI << 8 | 2;
	if (!info)
		return true;
	if (INTR_INFO_TYPE(info) == INTR_TYPE_HW_EXCEPTION) {
		if (INTR_INFO_VECTOR(info) == 2)
			info = (info & ~(7u << 8)) | INTR_TYPE_NMI << 8;
		/* 26.2.1.3: no error code outside protected mode. */
		if (!(vmx_guest_cr0(vcpu) & CR0_PE))
			info &= ~INTR_INFO_HAS_ERR;
	}
	/* 26.3.1.5: no interrupt or NMI injection under STI/MOV-SS blocking. */
	if (INTR_INFO_TYPE(info) == INTR_TYPE_EXT_INTR ||
	    INTR_INFO_TYPE(info) == INTR_TYPE_NMI)
		vmwrite(GUEST_INTERRUPTIBILITY,
			vmread(GUEST_INTERRUPTIBILITY) &
				~(u64)(INTERRUPTIBILITY_STI |
				       INTERRUPTIBILITY_MOV_SS));
	vmwrite(VM_ENTRY_INTR_INFO, info);
	if (info & INTR_INFO_HAS_ERR)
		vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, err);
	/* 25.8.3: software interrupts and exceptions need their length. */
	if (INTR_INFO_TYPE(info) >= INTR_TYPE_SW_INTR)
		vmwrite(VM_ENTRY_INSTRUCTION_LEN, len);
	return true;
}

static void vmx_msr_intercept(struct vcpu *vcpu, u32 msr, bool read, bool write)
{
	struct vmx_vcpu *v = vcpu->arch;
	u32 base, bit;

	/*
	 * 25.6.9: read-low at 0x000, read-high at 0x400, write-low at 0x800,
	 * write-high at 0xc00. MSRs outside both ranges always exit.
	 */
	if (msr <= 0x1fff) {
		base = 0;
		bit = msr;
	} else if (msr >= 0xc0000000 && msr <= 0xc0001fff) {
		base = 0x400;
		bit = msr - 0xc0000000;
	} else {
		return;
	}
	if (read)
		v->msr_bitmap[base + bit / 8] |= (u8)(1u << (bit % 8));
	else
		v->msr_bitmap[base + bit / 8] &= (u8) ~(1u << (bit % 8));
	if (write)
		v->msr_bitmap[0x800 + base + bit / 8] |= (u8)(1u << (bit % 8));
	else
		v->msr_bitmap[0x800 + base + bit / 8] &=
			(u8) ~(1u << (bit % 8));
}

/* Make IN/OUT on ports [port, port+count) exit (true) or not. */
static void vmx_io_intercept(struct vcpu *vcpu, u32 port, u32 count, bool on)
{
	struct vmx_vcpu *v = vcpu->arch;

	/*
	 * 25.6.4: bitmap A covers ports 0-7fff, B 8000-ffff, contiguous
	 * here; an access that wraps past ffff exits unconditionally.
	 */
	for (u32 p = port; p < port + count && p < 0x10000; p++) {
		if (on)
			v->io_bitmap[p / 8] |= (u8)(1u << (p % 8));
		else
			v->io_bitmap[p / 8] &= (u8) ~(1u << (p % 8));
	}
}

static void vmx_s2_flush(struct vcpu *vcpu)
{
	vmx_flush_ept(vcpu->arch);
}

static void inject_gp(struct vcpu *vcpu)
{
	vmx_inject_exception(vcpu, VEC_GP, true, 0);
}

/* The guest writes CR0 = @val (MOV, LMSW or CLTS). */
static bool vmx_set_cr0(struct vcpu *vcpu, struct vmx_vcpu *v, u64 val)
{
	u64 old = vmx_guest_cr0(vcpu);
	u64 efer = vmread(GUEST_IA32_EFER);

	/* 2.5 and 4.1.1: the architectural #GP cases of MOV to CR0. */
	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) ||
	    ((val & CR0_NW) && !(val & CR0_CD)))
		return false;
	if (!(old & CR0_PG) && (val & CR0_PG) && (efer & EFER_LME)) {
		if (!(vmx_guest_cr4(vcpu) & CR4_PAE))
			return false;
		/* 10.8.5: enabling paging with LME activates IA-32e mode. */
		efer |= EFER_LMA;
		v->entry_ctls |= ENTRY_IA32E_MODE;
	} else if ((old & CR0_PG) && !(val & CR0_PG) && (efer & EFER_LMA)) {
		efer &= ~EFER_LMA;
		v->entry_ctls &= ~ENTRY_IA32E_MODE;
	}
	vmwrite(GUEST_IA32_EFER, efer);
	vmwrite(VM_ENTRY_CONTROLS, v->entry_ctls);
	vmwrite(CR0_READ_SHADOW, val);
	vmwrite(GUEST_CR0, (val | vmx.cr0_must1) & ~vmx.cr0_must0);
	/* 4.10.4.1: toggling CR0.PG or CR0.WP flushes the TLBs. */
	if ((old ^ val) & (CR0_PG | CR0_WP))
		vmx_flush_vpid(v);
	return true;
}

static bool vmx_set_cr4(struct vcpu *vcpu, struct vmx_vcpu *v, u64 val)
{
	u64 old = vmx_guest_cr4(vcpu);

	/*
	 * Bits VMX operation forbids (A.8) fault like reserved bits; so does
	 * CR4.VMXE, since the driver VM is not offered nested VMX.
	 */
	if ((val & vmx.cr4_must0) || (val & CR4_VMXE))
		return false;
	if ((vmread(GUEST_IA32_EFER) & EFER_LMA) && !(val & CR4_PAE))
		return false;
	vmwrite(CR4_READ_SHADOW, val);
	vmwrite(GUEST_CR4, (val | vmx.cr4_must1) & ~vmx.cr4_must0);
	/* 4.10.4.1: these CR4 bits flush the TLBs when they change. */
	if ((old ^ val) & CR4_TLB_BITS)
		vmx_flush_vpid(v);
	return true;
}

/*
 * 28.2.1, Table 28-3: a control-register access that the masks (25.6.6)
 * or default1 CR3/CR8 exiting turned into an exit. Emulate it and resume.
 */
static void vmx_cr_access(struct vcpu *vcpu, struct vmx_vcpu *v, u64 qual,
			  u32 len)
{
	u64 *gpr = (u64 *)&vcpu->regs; /* Table 28-3 register order */
	u32 cr = CR_QUAL_NUM(qual), reg = CR_QUAL_GPR(qual);
	bool ok = true;

	switch (CR_QUAL_TYPE(qual)) {
	case CR_TYPE_MOV_TO:
		if (cr == 0)
			ok = vmx_set_cr0(vcpu, v, gpr[reg]);
		else if (cr == 4)
			ok = vmx_set_cr4(vcpu, v, gpr[reg]);
		else if (cr == 3)
			vmwrite(GUEST_CR3, gpr[reg] & ~(1ULL << 63));
		else if (cr == 8)
			write_cr8(gpr[reg]); /* the driver VM owns the APIC */
		else
			ok = false;
		break;
	case CR_TYPE_MOV_FROM:
		if (cr == 3)
			gpr[reg] = vmread(GUEST_CR3);
		else if (cr == 8)
			gpr[reg] = read_cr8();
		else
			ok = false;
		break;
	case CR_TYPE_CLTS:
		ok = vmx_set_cr0(vcpu, v, vmx_guest_cr0(vcpu) & ~CR0_TS);
		break;
	case CR_TYPE_LMSW: {
		/* LMSW loads CR0[3:0] but cannot clear PE (LMSW, Vol. 2A). */
		u64 cr0 = vmx_guest_cr0(vcpu);
		u64 src = CR_QUAL_LMSW_SRC(qual) & 0xf;

		ok = vmx_set_cr0(vcpu, v,
				 (cr0 & ~0xeULL) | src | (cr0 & CR0_PE));
		break;
	}
	}
	if (ok)
		vcpu->regs.rip += len;
	else
		inject_gp(vcpu);
}

static void vmx_decode_io(struct exit_info *ex)
{
	u64 q = ex->qual;

	/* 28.2.1, Table 28-5. */
	ex->reason = EXIT_IO;
	ex->io.port = IO_QUAL_PORT(q);
	ex->io.size = (u8)IO_QUAL_SIZE(q);
	ex->io.in = !!(q & IO_QUAL_IN);
	ex->io.string = !!(q & IO_QUAL_STRING);
	ex->io.rep = !!(q & IO_QUAL_REP);
}

static void vmx_decode_ept_violation(struct vmx_vcpu *v, struct exit_info *ex)
{
	u64 q = ex->qual;

	/* 28.2.1, Table 28-7. */
	ex->reason = EXIT_STAGE2;
	ex->s2.gpa = vmread(GUEST_PHYSICAL_ADDRESS);
	ex->s2.gla = (q & EPT_QUAL_GLA_VALID) ? vmread(GUEST_LINEAR_ADDRESS) :
						0;
	ex->s2.access = ((q & EPT_QUAL_READ) ? S2_READ : 0) |
			((q & EPT_QUAL_WRITE) ? S2_WRITE : 0) |
			((q & EPT_QUAL_FETCH) ? S2_EXEC : 0);
	/*
	 * 28.2.3: an IRET that faulted after unblocking NMIs must leave them
	 * blocked when it is re-executed (the driver VM: NMI exiting is 0,
	 * so the bit is valid unless an event was being delivered). A user
	 * guest is never given an NMI, and with NMI exiting the bit is not
	 * about its NMIs.
	 */
	if ((q & EPT_QUAL_NMI_UNBLOCK) && !v->ev.reinject_info &&
	    !v->nmi_exiting)
		vmwrite(GUEST_INTERRUPTIBILITY,
			vmread(GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
}

/* Decode one exit; false means it was handled here and the guest resumes. */
static bool vmx_decode(struct vcpu *vcpu, struct vmx_vcpu *v,
		       struct exit_info *ex)
{
	u32 basic = (u32)ex->raw & 0xffff;
	u32 info;

	switch (basic) {
	case EXIT_REASON_EXCEPTION_NMI:
		info = (u32)vmread(VM_EXIT_INTR_INFO);
		ex->reason = INTR_INFO_TYPE(info) == INTR_TYPE_NMI ?
				     EXIT_NMI :
				     EXIT_UNHANDLED;
		ex->qual = info;
		break;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		ex->reason = EXIT_EXTINT;
		break;
	case EXIT_REASON_TRIPLE_FAULT:
		ex->reason = EXIT_TRIPLE_FAULT;
		break;
	case EXIT_REASON_INIT:
		/* 26.2: INIT always exits in VMX non-root operation. */
		ex->reason = EXIT_INIT;
		break;
	case EXIT_REASON_CPUID:
		/* 26.1.2: CPUID always exits. */
		ex->reason = EXIT_CPUID;
		break;
	case EXIT_REASON_HLT:
		ex->reason = EXIT_HLT;
		break;
	case EXIT_REASON_INVD:
		/* 26.1.2: INVD always exits; write back rather than lose. */
		asm volatile("wbinvd" : : : "memory");
		vcpu->regs.rip += ex->insn_len;
		return false;
	case EXIT_REASON_VMCALL:
		ex->reason = EXIT_HYPERCALL;
		break;
	case EXIT_REASON_VMCLEAR ... EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
		/* 26.1.2: VMX instructions always exit in non-root. */
		ex->reason = EXIT_VIRT_INSN;
		break;
	case EXIT_REASON_CR_ACCESS:
		vcpu->exit_count[EXIT_CR_ACCESS]++;
		vmx_cr_access(vcpu, v, ex->qual, ex->insn_len);
		return false;
	case EXIT_REASON_IO:
		vmx_decode_io(ex);
		break;
	case EXIT_REASON_RDMSR:
		ex->reason = EXIT_RDMSR;
		break;
	case EXIT_REASON_WRMSR:
		ex->reason = EXIT_WRMSR;
		break;
	case EXIT_REASON_EPT_VIOLATION:
		vmx_decode_ept_violation(v, ex);
		break;
	case EXIT_REASON_EPT_MISCONFIG:
		pr_err("vmx: EPT misconfiguration at gpa %lx (EPT entry bad)\n",
		       vmread(GUEST_PHYSICAL_ADDRESS));
		ex->reason = EXIT_UNHANDLED;
		break;
	case EXIT_REASON_XSETBV:
		/* 26.1.2: XSETBV always exits. */
		ex->reason = EXIT_XSETBV;
		break;
	default:
		/* SIPI, task switch, GETSEC, RSM and everything not enabled. */
		ex->reason = EXIT_UNHANDLED;
		break;
	}
	return true;
}

static void vmx_run(struct vcpu *vcpu, struct exit_info *ex)
{
	struct vmx_vcpu *v = vcpu->arch;

	vmcs_load(v);
	for (;;) {
		u32 reason, idt;
		int rc;

		/*
		 * The core skipped an emulated instruction: the STI/MOV-SS
		 * shadow it was in is over (25.4.2, Table 25-3).
		 */
		if (vcpu->regs.rip != v->exit_rip) {
			u64 is = vmread(GUEST_INTERRUPTIBILITY);

			if (is &
			    (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
				vmwrite(GUEST_INTERRUPTIBILITY,
					is & ~(u64)(INTERRUPTIBILITY_STI |
						    INTERRUPTIBILITY_MOV_SS));
		}
		vmwrite(GUEST_RIP, vcpu->regs.rip);
		vmwrite(GUEST_RSP, vcpu->regs.rsp);
		vmwrite(GUEST_RFLAGS, vcpu->regs.rflags);
		vcpu_flush_requested(vcpu);
		if (!vmx_inject_pending(vcpu, v)) {
			memset(ex, 0, sizeof(*ex));
			ex->reason = EXIT_TRIPLE_FAULT;
			return;
		}

		rc = vmx_enter(&vcpu->regs, v->launched);
		memset(ex, 0, sizeof(*ex));
		if (rc) {
			/*
			 * 31.2: VMfailInvalid (no current VMCS) has no error
			 * number; VMfailValid has one (31.4).
			 */
			v->last_insn_err =
				rc == 2 ? (u32)vmread(VM_INSTRUCTION_ERROR) : 0;
			ex->reason = EXIT_ENTRY_FAILED;
			ex->raw = ~0ULL;
			ex->qual = rc == 2 ? v->last_insn_err : ~0ULL;
			pr_err("vmx: %s failed: %s, error %u (%s)\n",
			       v->launched ? "VMRESUME" : "VMLAUNCH",
			       rc == 2 ? "VMfailValid" : "VMfailInvalid",
			       v->last_insn_err,
			       insn_error_str(v->last_insn_err));
			return;
		}

		reason = (u32)vmread(VM_EXIT_REASON);
		vcpu->regs.rip = vmread(GUEST_RIP);
		vcpu->regs.rsp = vmread(GUEST_RSP);
		vcpu->regs.rflags = vmread(GUEST_RFLAGS);
		v->exit_rip = vcpu->regs.rip;
		ex->raw = reason;
		ex->qual = vmread(EXIT_QUALIFICATION);
		ex->insn_len = (u32)vmread(VM_EXIT_INSTRUCTION_LEN);
		v->last_reason = reason;
		v->last_qual = ex->qual;

		if (reason & EXIT_REASON_ENTRY_FAILURE) {
			/* 27.8: entry failed while loading guest state. */
			ex->reason = EXIT_ENTRY_FAILED;
			pr_err("vmx: VM entry failed: reason %u, qualification %lx\n",
			       reason & 0xffff, ex->qual);
			return;
		}
		v->launched = true;
		/* IA-32e mode guest tracks EFER.LMA across exits (28.2). */
		v->entry_ctls = (u32)vmread(VM_ENTRY_CONTROLS);

		/* 28.2.4: an event cut short by this exit goes in again. */
		idt = (u32)vmread(IDT_VECTORING_INFO);
		event_exit(&v->ev, idt,
			   (idt & INTR_INFO_HAS_ERR) ?
				   (u32)vmread(IDT_VECTORING_ERROR_CODE) :
				   0,
			   ex->insn_len);

		if (vmx_decode(vcpu, v, ex))
			return;
		vcpu->exits++;
	}
}

static void vmx_dump(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = vcpu->arch;

	if (!v) {
		pr_err("vmx: vcpu %u has no VMCS\n", vcpu->id);
		return;
	}
	vmcs_load(v);
	pr_err("vmx: vcpu %u RIP %lx RSP %lx RFLAGS %lx\n", vcpu->id,
	       vmread(GUEST_RIP), vmread(GUEST_RSP), vmread(GUEST_RFLAGS));
	pr_err("vmx: CR0 %lx (shadow %lx) CR3 %lx CR4 %lx (shadow %lx) EFER %lx\n",
	       vmread(GUEST_CR0), vmread(CR0_READ_SHADOW), vmread(GUEST_CR3),
	       vmread(GUEST_CR4), vmread(CR4_READ_SHADOW),
	       vmread(GUEST_IA32_EFER));
	pr_err("vmx: CS %x ar %x base %lx SS %x ar %x entry-ctls %x\n",
	       (u32)vmread(GUEST_CS_SELECTOR), (u32)vmread(GUEST_CS_AR),
	       vmread(GUEST_CS_BASE), (u32)vmread(GUEST_SS_SELECTOR),
	       (u32)vmread(GUEST_SS_AR), (u32)vmread(VM_ENTRY_CONTROLS));
	pr_err("vmx: exit reason %u%s qual %lx gpa %lx intr-info %x idt-vec %x interruptibility %x\n",
	       v->last_reason & 0xffff,
	       (v->last_reason & EXIT_REASON_ENTRY_FAILURE) ?
		       " (entry failure)" :
		       "",
	       v->last_qual, vmread(GUEST_PHYSICAL_ADDRESS),
	       (u32)vmread(VM_EXIT_INTR_INFO), (u32)vmread(IDT_VECTORING_INFO),
	       (u32)vmread(GUEST_INTERRUPTIBILITY));
	pr_err("vmx: VM-instruction error %u (%s)\n",
	       (u32)vmread(VM_INSTRUCTION_ERROR),
	       insn_error_str((u32)vmread(VM_INSTRUCTION_ERROR)));
}

const struct arch_ops vmx_ops = {
	.name = "vmx",
	.s2_name = "EPT",
	.cpu_init = vmx_cpu_init,
	.features = vmx_features,
	.s2fmt = &ept_format_rw,
	.vcpu_init = vmx_vcpu_init,
	.run = vmx_run,
	.inject_exception = vmx_inject_exception,
	.msr_intercept = vmx_msr_intercept,
	.io_intercept = vmx_io_intercept,
	.guest_cr0 = vmx_guest_cr0,
	.guest_cr3 = vmx_guest_cr3,
	.guest_cr4 = vmx_guest_cr4,
	.guest_efer = vmx_guest_efer,
	.guest_cpl = vmx_guest_cpl,
	.s2_flush = vmx_s2_flush,
	.dump = vmx_dump,
};
