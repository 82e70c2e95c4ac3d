// SPDX-License-Identifier: GPL-2.0
/*
 * devirt_test - exercise the devirt hypercall ABI from the driver VM.
 *
 *   insmod devirt_test.ko tests=all|none|abi,hypmem,ipi,nmi
 *
 * Every check prints one line
 *   devirt-test: <test> <name> <value> PASS|FAIL
 * (value is one token), extra facts print as
 *   devirt-test: info <key>=<value> ...
 * and the run ends with
 *   devirt-test: done failures=N
 * The module init returns 0 after running, so the harness reads the results
 * from the kernel log, or -EINVAL when @tests names an unknown test.
 *
 * A hypercall instruction that faults (#UD: no hypervisor, or the wrong one
 * for this vendor) is caught through the exception table (devirt/hc_linux.h) and
 * reported as "faulted" instead of oopsing, so the module is safe to load
 * anywhere.
 */
#define pr_fmt(fmt) "devirt-test: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <asm/processor.h>
#include <asm/msr.h>
#include <asm/apicdef.h>
#include <asm/nmi.h>
#include <linux/delay.h>
#include <linux/atomic.h>

#include <devirt/hc_linux.h>
#include "test_select.h"

static char *tests = "all";
module_param(tests, charp, 0444);
MODULE_PARM_DESC(tests, "comma list of abi,hypmem,ipi,nmi; or all, or none");

#define SIPI_VECTOR 0x10
#define FIXED_VECTOR 0xf0
#define IPI_TARGET_APIC_ID 1

static char vendor[13];
static int failures;

static __printf(4, 5) void check(const char *test, const char *name, bool ok,
				 const char *fmt, ...)
{
	char val[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (!ok)
		failures++;
	pr_info("%s %s %s %s\n", test, name, val, ok ? "PASS" : "FAIL");
}

static void check_ret(const char *test, const char *name, long ret, bool ok)
{
	if (ret == DEVIRT_HC_FAULTED)
		check(test, name, false, "faulted");
	else
		check(test, name, ok, "%ld", ret);
}

static void print_hv_info(const char *tag, const struct devirt_hv_info *info)
{
	pr_info("info %s.abi=0x%llx %s.backend=%llu\n", tag, info->abi, tag,
		info->backend);
	pr_info("info %s.hyp_base=0x%llx %s.hyp_size=0x%llx\n", tag,
		info->hyp_base, tag, info->hyp_size);
	pr_info("info %s.vm_id=%llu %s.refused=%llu\n", tag, info->vm_id, tag,
		info->refused);
	pr_info("info %s.hyp_checksum=0x%llx %s.hyp_checksum_boot=0x%llx\n",
		tag, info->hyp_checksum, tag, info->hyp_checksum_boot);
	pr_info("info %s.hyp_canary=0x%llx %s.hyp_canary_bad=%llu\n", tag,
		info->hyp_canary, tag, info->hyp_canary_bad);
}

static int test_abi(void)
{
	static const char msg[] = "hello from driver VM\n";
	const unsigned long expect_abi = (DEVIRT_ABI_MAJOR << 16) |
					 DEVIRT_ABI_MINOR;
	const unsigned long expect_backend = devirt_hc_vmmcall ? 2 : 1;
	struct devirt_hv_info *info;
	long ret;

	ret = devirt_hypercall(DEVIRT_HC_VERSION, 0, 0, 0);
	if (ret == DEVIRT_HC_FAULTED)
		check("abi", "version", false, "faulted");
	else
		check("abi", "version", ret == expect_abi, "0x%lx", ret);

	ret = devirt_hypercall(DEVIRT_HC_CONSOLE_WRITE, (unsigned long)msg,
			       sizeof(msg) - 1, 0);
	check_ret("abi", "console_write", ret, ret >= 0);

	ret = devirt_hypercall(0x7777, 0, 0, 0);
	check_ret("abi", "unknown_call", ret, ret == DEVIRT_ENOSYS);

	ret = devirt_hypercall(DEVIRT_HC_CONSOLE_WRITE, 0xdead000000000000UL,
			       16, 0);
	check_ret("abi", "console_bad_ptr", ret, ret == DEVIRT_EFAULT);

	ret = devirt_hypercall(DEVIRT_HC_CONSOLE_WRITE, (unsigned long)msg,
			       1UL << 20, 0);
	check_ret("abi", "console_too_long", ret, ret == DEVIRT_EINVAL);

	info = kmalloc(sizeof(*info), GFP_KERNEL);
	if (!info) {
		check("abi", "hv_info", false, "kmalloc-failed");
		return 0;
	}
	ret = devirt_hv_info(info);
	check_ret("abi", "hv_info", ret, ret == DEVIRT_EOK);
	if (ret == DEVIRT_EOK) {
		print_hv_info("hv_info", info);
		check("abi", "hv_info_abi", info->abi == expect_abi, "0x%llx",
		      info->abi);
		check("abi", "hv_info_backend", info->backend == expect_backend,
		      "%llu", info->backend);
	}
	kfree(info);
	return 0;
}

/*
 * Map one page of hypervisor memory, read it, write it, read it again.
 * Every read of it returns all-ones, so the reread cannot tell whether the
 * write landed: for the canary page devirt counts its own words that no
 * longer hold their pattern (HV_INFO hyp_canary_bad, "landed_<where>").
 */
static void probe_hyp_page(const char *where, phys_addr_t pa,
			   struct devirt_hv_info *info)
{
	char name[32];
	void __iomem *p;
	u32 before, after;
	long ret;

	p = ioremap_uc(pa, PAGE_SIZE);
	snprintf(name, sizeof(name), "map_%s", where);
	check("hypmem", name, p != NULL, "%pa", &pa);
	if (!p)
		return;

	before = readl(p);
	snprintf(name, sizeof(name), "read_%s", where);
	check("hypmem", name, before == 0xffffffff, "0x%08x", before);

	writel(0x5a5a5a5a, p);
	after = readl(p);
	snprintf(name, sizeof(name), "reread_%s", where);
	check("hypmem", name, after == 0xffffffff && after != 0x5a5a5a5a,
	      "0x%08x", after);

	iounmap(p);
	if (strcmp(where, "canary"))
		return;
	ret = devirt_hv_info(info);
	snprintf(name, sizeof(name), "landed_%s", where);
	if (ret != DEVIRT_EOK)
		check_ret("hypmem", name, ret, false);
	else
		check("hypmem", name, !info->hyp_canary_bad, "bad_words=%llu",
		      info->hyp_canary_bad);
}

static int test_hypmem(void)
{
	struct devirt_hv_info *before, *after;
	phys_addr_t lo, mid, canary;
	long ret;

	before = kmalloc(sizeof(*before), GFP_KERNEL);
	after = kmalloc(sizeof(*after), GFP_KERNEL);
	if (!before || !after) {
		check("hypmem", "setup", false, "kmalloc-failed");
		goto out;
	}

	ret = devirt_hv_info(before);
	check_ret("hypmem", "hv_info_before", ret, ret == DEVIRT_EOK);
	if (ret != DEVIRT_EOK)
		goto out;
	print_hv_info("hypmem.before", before);
	if (!before->hyp_size) {
		check("hypmem", "hyp_size", false, "0");
		goto out;
	}

	lo = PAGE_ALIGN_DOWN(before->hyp_base);
	mid = PAGE_ALIGN_DOWN(before->hyp_base + before->hyp_size / 2);
	canary = before->hyp_canary;
	/* Where devirt's data page is must be devirt's to say, and in it. */
	check("hypmem", "canary_where",
	      canary && !(canary & ~PAGE_MASK) && canary >= before->hyp_base &&
		      canary - before->hyp_base < before->hyp_size &&
		      !before->hyp_canary_bad,
	      "0x%llx,bad_words=%llu", canary, before->hyp_canary_bad);
	probe_hyp_page("lo", lo, after);
	probe_hyp_page("mid", mid, after);
	if (canary)
		probe_hyp_page("canary", canary, after);

	ret = devirt_hv_info(after);
	check_ret("hypmem", "hv_info_after", ret, ret == DEVIRT_EOK);
	if (ret != DEVIRT_EOK)
		goto out;
	print_hv_info("hypmem.after", after);
	/* Three pages: a read, a dropped write and a reread each. */
	check("hypmem", "refused", after->refused >= before->refused + 9,
	      "%llu->%llu", before->refused, after->refused);
	check("hypmem", "checksum",
	      after->hyp_checksum == after->hyp_checksum_boot, "0x%llx/0x%llx",
	      after->hyp_checksum, after->hyp_checksum_boot);
out:
	kfree(before);
	kfree(after);
	return 0;
}

/*
 * The command half of the ICR as this CPU's APIC holds it (devirt reads
 * the real one), less the delivery status. Its destination half is no
 * command: an xAPIC takes writes of it, and only the low write sends.
 */
static u32 read_icr_lo(void __iomem *xapic)
{
	u64 v = 0;

	if (xapic)
		v = readl(xapic + DEVIRT_XAPIC_ICR_LO);
	else
		rdmsrl_safe(DEVIRT_MSR_X2APIC_ICR, &v);
	return (u32)v & ~(1U << 12);
}

/*
 * Send one IPI to APIC ID IPI_TARGET_APIC_ID, a CPU the driver VM does not
 * own: through the x2APIC ICR MSR, or the xAPIC ICR in the APIC page. Its
 * defined result (docs/design.md): devirt drops the write without a fault
 * (ret 0, not -EIO), so the APIC's ICR still holds the command it held,
 * and counts exactly one refused IPI. Interrupts are off so that nothing
 * else on this CPU sends an IPI or moves the counter in between.
 */
static void send_ipi(const char *name, u32 icr_lo, void __iomem *xapic,
		     struct devirt_hv_info *before,
		     struct devirt_hv_info *after)
{
	unsigned long flags;
	long r0, r1;
	u32 icr0, icr1;
	long long d;
	int ret;

	local_irq_save(flags);
	r0 = devirt_hv_info(before);
	icr0 = read_icr_lo(xapic);
	ret = devirt_send_ipi(xapic, IPI_TARGET_APIC_ID, icr_lo);
	icr1 = read_icr_lo(xapic);
	r1 = devirt_hv_info(after);
	local_irq_restore(flags);
	if (r0 != DEVIRT_EOK || r1 != DEVIRT_EOK) {
		check("ipi", name, false, "hv_info=%ld/%ld", r0, r1);
		return;
	}
	d = after->refused_ipi - before->refused_ipi;
	check("ipi", name, ret == 0 && icr1 == icr0 && d == 1,
	      "ret=%d,icr=0x%x->0x%x,d_refused_ipi=%lld", ret, icr0, icr1, d);
}

static int test_ipi(void)
{
	struct devirt_hv_info *before, *after;
	void __iomem *xapic = NULL;
	u64 apicbase, refused0;
	long ret;

	if (rdmsrl_safe(MSR_IA32_APICBASE, &apicbase)) {
		check("ipi", "apicbase", false, "rdmsr-faulted");
		return 0;
	}
	before = kzalloc(sizeof(*before), GFP_KERNEL);
	after = kzalloc(sizeof(*after), GFP_KERNEL);
	if (!before || !after) {
		check("ipi", "setup", false, "kmalloc-failed");
		goto out;
	}
	if (!(apicbase & X2APIC_ENABLE)) {
		xapic = ioremap(apicbase & PAGE_MASK, PAGE_SIZE);
		if (!xapic) {
			check("ipi", "ioremap", false, "failed");
			goto out;
		}
	}
	pr_info("info ipi target_apic_id=%d apicbase=0x%llx mode=%s\n",
		IPI_TARGET_APIC_ID, apicbase, xapic ? "xapic" : "x2apic");
	ret = devirt_hv_info(before);
	check_ret("ipi", "hv_info_before", ret, ret == DEVIRT_EOK);
	refused0 = before->refused;
	send_ipi("init", DEVIRT_ICR_INIT_ASSERT, xapic, before, after);
	send_ipi("sipi", DEVIRT_ICR_SIPI | SIPI_VECTOR, xapic, before, after);
	send_ipi("fixed", DEVIRT_ICR_FIXED | FIXED_VECTOR, xapic, before,
		 after);
	ret = devirt_hv_info(after);
	check_ret("ipi", "hv_info_after", ret, ret == DEVIRT_EOK);
	/* All three must have been refused and counted by the hypervisor. */
	check("ipi", "refused", after->refused >= refused0 + 3, "%llu->%llu",
	      refused0, after->refused);
out:
	if (xapic)
		iounmap(xapic);
	kfree(before);
	kfree(after);
	return 0;
}

/*
 * NMIs the driver VM sends itself. Its ICR write exits, and devirt sends
 * the NMI from root mode: on VMX (no NMI exiting) it arrives there, and
 * devirt must deliver it on the next entry rather than drop it; on SVM it
 * waits for VMRUN's GIF=1. Each one must reach this handler.
 */
#define NMI_ROUNDS 20
static atomic_t nmi_expected, nmi_seen;

static int nmi_handler(unsigned int type, struct pt_regs *regs)
{
	if (atomic_add_unless(&nmi_expected, -1, 0)) {
		atomic_inc(&nmi_seen);
		return NMI_HANDLED;
	}
	return NMI_DONE;
}

static u32 own_apic_id(bool x2apic)
{
	u32 a, b, c, d;

	/* CPUID 0xb EDX: the x2APIC ID; CPUID 1 EBX[31:24]: the xAPIC ID. */
	if (x2apic) {
		cpuid_count(0xb, 0, &a, &b, &c, &d);
		return d;
	}
	return cpuid_ebx(1) >> 24;
}

static int test_nmi(void)
{
	void __iomem *xapic = NULL;
	u64 apicbase;
	int i, lost = 0, ret;

	if (rdmsrl_safe(MSR_IA32_APICBASE, &apicbase)) {
		check("nmi", "apicbase", false, "rdmsr-faulted");
		return 0;
	}
	if (!(apicbase & X2APIC_ENABLE)) {
		xapic = ioremap(apicbase & PAGE_MASK, PAGE_SIZE);
		if (!xapic) {
			check("nmi", "ioremap", false, "failed");
			return 0;
		}
	}
	atomic_set(&nmi_seen, 0);
	atomic_set(&nmi_expected, 0);
	ret = register_nmi_handler(NMI_LOCAL, nmi_handler, 0, "devirt_test");
	if (ret) {
		check("nmi", "register", false, "%d", ret);
		goto out;
	}
	for (i = 0; i < NMI_ROUNDS; i++) {
		int seen = atomic_read(&nmi_seen), us;

		atomic_set(&nmi_expected, 1);
		preempt_disable();
		ret = devirt_send_ipi(xapic, own_apic_id(!xapic),
				      APIC_DM_NMI | APIC_DEST_PHYSICAL);
		preempt_enable();
		/* A lost NMI is waited for 10 ms, then counted. */
		for (us = 0; us < 10000 && atomic_read(&nmi_seen) == seen;
		     us += 10)
			udelay(10);
		if (ret || atomic_read(&nmi_seen) == seen)
			lost++;
		atomic_set(&nmi_expected, 0);
	}
	unregister_nmi_handler(NMI_LOCAL, "devirt_test");
	pr_info("info nmi sent=%d seen=%d lost=%d\n", NMI_ROUNDS,
		atomic_read(&nmi_seen), lost);
	check("nmi", "self", lost == 0 && atomic_read(&nmi_seen) == NMI_ROUNDS,
	      "%d/%d", atomic_read(&nmi_seen), NMI_ROUNDS);
out:
	if (xapic)
		iounmap(xapic);
	return 0;
}

struct devirt_test {
	const char *name;
	int (*fn)(void);
};

static const struct devirt_test all_tests[] = {
	{ "abi", test_abi },
	{ "hypmem", test_hypmem },
	{ "ipi", test_ipi },
	{ "nmi", test_nmi },
};

/* Sets bit i of *mask for each test named in @list; -EINVAL if unknown. */
static int parse_tests(const char *list, unsigned long *mask)
{
	return devirt_parse_tests(list, all_tests, sizeof(all_tests[0]),
				  ARRAY_SIZE(all_tests),
				  (1UL << ARRAY_SIZE(all_tests)) - 1, mask);
}

static int __init devirt_test_init(void)
{
	unsigned long mask;
	char sig[13];
	int i, ret;

	ret = parse_tests(tests, &mask);
	if (ret)
		return ret;

	devirt_hc_setup(vendor);
	devirt_hc_signature(sig);
	pr_info("info vendor=%s insn=%s sig=%s tests=%s\n", vendor,
		devirt_hc_vmmcall ? "vmmcall" : "vmcall",
		strcmp(sig, DEVIRT_CPUID_SIGNATURE) ? "other" : sig,
		tests ? tests : "");

	failures = 0;
	for (i = 0; i < ARRAY_SIZE(all_tests); i++) {
		if (!(mask & (1UL << i)))
			continue;
		pr_info("info start=%s\n", all_tests[i].name);
		all_tests[i].fn();
	}
	pr_info("done failures=%d\n", failures);
	return 0;
}

static void __exit devirt_test_exit(void)
{
}

module_init(devirt_test_init);
module_exit(devirt_test_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devirt hypercall ABI tests for the driver VM");
