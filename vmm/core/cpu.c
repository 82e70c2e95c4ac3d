// SPDX-License-Identifier: GPL-2.0
/*
 * Host CPU state: the hypervisor's own GDT, TSS, IDT and identity page
 * tables. The firmware's copies live in boot-services memory, which becomes
 * the driver VM's RAM, so none of them may be used after entry.
 */
#include "cpu.h"
#include "lib.h"
#include "x86.h"
#include "palloc.h"

struct tss64 {
	u32 rsvd0;
	u64 rsp[3];
	u64 rsvd1;
	u64 ist[7];
	u64 rsvd2;
	u16 rsvd3;
	u16 iomap;
} __attribute__((packed));

struct idt_gate {
	u16 off0;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off1;
	u32 off2;
	u32 rsvd;
} __attribute__((packed));

struct desc_ptr {
	u16 limit;
	u64 base;
} __attribute__((packed));

/* One GDT and TSS per CPU: LTR marks a TSS descriptor busy. */
static u64 gdt[MAX_CPUS][8] __attribute__((aligned(16)));
static struct tss64 tss[MAX_CPUS] __attribute__((aligned(16)));
static struct idt_gate idt[32] __attribute__((aligned(16)));
extern const u64 trap_table[32];
u64 host_cr3;

struct trap_frame {
	u64 vector, error, rip, cs, rflags, rsp, ss;
};

void host_trap(struct trap_frame *f)
{
	u64 cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	panic("host exception %lu (error 0x%lx) at rip 0x%lx rsp 0x%lx cr2 0x%lx: hypervisor bug",
	      f->vector, f->error, f->rip, f->rsp, cr2);
}

u32 cpu_phys_bits(void)
{
	u32 a, b, c, d;

	cpuid(0x80000000, 0, &a, &b, &c, &d);
	if (a < 0x80000008)
		return 36;
	cpuid(0x80000008, 0, &a, &b, &c, &d);
	return a & 0xff;
}

bool cpu_has_1g_pages(void)
{
	u32 a, b, c, d;

	cpuid(0x80000001, 0, &a, &b, &c, &d);
	return d & (1u << 26); /* Page1GB, SDM Vol. 2A CPUID */
}

/*
 * Identity map [0, limit) with 1 GiB pages where the CPU has them, else
 * 2 MiB pages, write-back via PAT index 0 (MTRRs still make MMIO UC).
 * SDM Vol. 3A 4.5 "4-Level Paging".
 */
static u64 build_identity(u64 limit)
{
	u64 *pml4 = page_alloc(), pa = 0;
	bool big = cpu_has_1g_pages();

	if (!pml4)
		return 0;
	while (pa < limit) {
		u64 *pdpt, *pd;
		u32 i4 = (pa >> 39) & 511, i3 = (pa >> 30) & 511;

		if (!(pml4[i4] & 1)) {
			pdpt = page_alloc();
			if (!pdpt)
				return 0;
			pml4[i4] = virt_to_phys(pdpt) | 3; /* P, RW */
		}
		pdpt = phys_to_virt(pml4[i4] & ~0xfffULL);
		if (big) {
			pdpt[i3] = pa | 0x83; /* P, RW, PS: 1 GiB page */
			pa += SZ_1G;
			continue;
		}
		pd = page_alloc();
		if (!pd)
			return 0;
		for (u32 i = 0; i < 512; i++)
			pd[i] = (pa + i * SZ_2M) | 0x83; /* P, RW, PS: 2M */
		pdpt[i3] = virt_to_phys(pd) | 3;
		pa += SZ_1G;
	}
	return virt_to_phys(pml4);
}

/* Load this CPU's descriptor tables; @cpu indexes the per-CPU copies. */
void cpu_host_load(u32 cpu)
{
	struct desc_ptr gp = { sizeof(gdt[0]) - 1, (u64)(uintptr_t)gdt[cpu] };
	struct desc_ptr ip = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
	u64 tb = (u64)(uintptr_t)&tss[cpu], *g = gdt[cpu];
	u32 a, b, c, d;

	/* SDM Vol. 3A 3.4.5: flat 64-bit code and data descriptors. */
	g[1] = 0x00af9a000000ffffULL; /* 0x08: code, L=1 */
	g[2] = 0x00cf92000000ffffULL; /* 0x10: data */
	/* 0x18: 64-bit available TSS (SDM 8.2.3), a 16-byte descriptor. */
	g[3] = (sizeof(tss[0]) - 1) | ((tb & 0xffffff) << 16) |
	       (0x89ULL << 40) | (((tb >> 24) & 0xff) << 56);
	g[4] = tb >> 32;
	tss[cpu].iomap = sizeof(tss[0]);

	asm volatile("lgdt %0" : : "m"(gp));
	asm volatile("pushq %0\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:\n\t"
		     "movl %1, %%eax\n\t"
		     "movl %%eax, %%ds\n\t"
		     "movl %%eax, %%es\n\t"
		     "movl %%eax, %%ss\n\t"
		     "xorl %%eax, %%eax\n\t"
		     "movl %%eax, %%fs\n\t"
		     "movl %%eax, %%gs\n\t"
		     :
		     : "i"(HOST_CS), "i"(HOST_DS)
		     : "rax", "memory");
	asm volatile("ltr %w0" : : "r"(HOST_TSS));
	asm volatile("lidt %0" : : "m"(ip));

	/*
	 * CR4.OSXSAVE lets the hypervisor read a guest's XCR0 with XGETBV
	 * (SDM Vol. 1 13.3); it never saves extended state itself.
	 */
	cpuid(1, 0, &a, &b, &c, &d);
	if (c & (1u << 26))
		write_cr4(read_cr4() | CR4_OSXSAVE);
}

int cpu_host_init(u64 phys_limit)
{
	for (u32 v = 0; v < 32; v++) {
		u64 h = trap_table[v];

		idt[v].off0 = (u16)h;
		idt[v].sel = HOST_CS;
		idt[v].ist = 0;
		idt[v].type = 0x8e; /* present 64-bit interrupt gate */
		idt[v].off1 = (u16)(h >> 16);
		idt[v].off2 = (u32)(h >> 32);
	}
	cpu_host_load(0);
	host_cr3 = build_identity(phys_limit);
	if (!host_cr3)
		return -1;
	write_cr3(host_cr3);
	return 0;
}
