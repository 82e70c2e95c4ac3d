// SPDX-License-Identifier: GPL-2.0
/*
 * Emulation of the MOV forms that touch memory, for the two kinds of
 * guest-physical access the hypervisor completes itself:
 *  - refused accesses: memory outside the VM's partition (the hypervisor,
 *    another VM). Logged and counted; loads return all-ones, as from an
 *    empty bus, and stores are dropped;
 *  - trapped MMIO: the xAPIC page, so that ICR writes can be filtered on
 *    CPUs without x2APIC (apic.c).
 * Only plain MOV/MOVZX forms are decoded (what readl/writel and ordinary
 * pointer accesses compile to); anything else gets #GP. Opcodes: SDM
 * Vol. 2, Appendix A "Opcode Map"; ModRM/SIB: Vol. 2A 2.1.5.
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"

struct insn {
	u32 len;
	u32 size; /* bytes accessed in memory */
	u32 dst_size; /* register width for loads (MOVZX widens) */
	bool write;
	bool has_imm;
	u64 imm;
	u32 reg; /* ModRM.reg with REX.R: source or destination GPR */
	bool high_byte; /* AH/CH/DH/BH: 8-bit reg 4-7 without REX */
};

static u64 *gpr(struct vcpu *vcpu, u32 idx)
{
	/* struct guest_regs follows the SDM encoding: rax rcx rdx rbx ... */
	return &(&vcpu->regs.rax)[idx & 15];
}

/* Length of the ModRM operand from the ModRM byte on; -1 if not memory. */
static int modrm_len(const u8 *p, u32 avail)
{
	u8 mod, rm;
	int len = 1;

	if (!avail)
		return -1;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	if (mod == 3)
		return -1;
	if (rm == 4) { /* SIB follows */
		if (avail < 2)
			return -1;
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		len += 4; /* RIP-relative disp32 */
	}
	return len + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

static int decode(const u8 *b, u32 avail, struct insn *in)
{
	u32 i = 0, opsize = 4, immsz = 0;
	bool rex = false;
	u8 rex_r = 0, op;
	int ml;

	memset(in, 0, sizeof(*in));
	for (; i < avail; i++) {
		if (b[i] == 0x66)
			opsize = 2;
		else if (b[i] != 0x2e && b[i] != 0x3e && b[i] != 0x26 &&
			 b[i] != 0x36 && b[i] != 0x64 && b[i] != 0x65)
			break; /* 0x67 and REP/LOCK are not accepted */
	}
	if (i < avail && (b[i] & 0xf0) == 0x40) {
		rex = true;
		if (b[i] & 8)
			opsize = 8;
		rex_r = (b[i] & 4) ? 8 : 0;
		i++;
	}
	if (i >= avail)
		return -1;
	op = b[i++];
	if (op == 0x0f) { /* MOVZX r, r/m8 (0F B6) or r/m16 (0F B7) */
		if (i >= avail || (b[i] != 0xb6 && b[i] != 0xb7))
			return -1;
		in->size = b[i++] == 0xb6 ? 1 : 2;
		in->dst_size = opsize;
	} else if (op >= 0x88 && op <= 0x8b) { /* MOV r/m,r and MOV r,r/m */
		in->size = (op & 1) ? opsize : 1;
		in->dst_size = in->size;
		in->write = op <= 0x89;
	} else if (op == 0xc6 || op == 0xc7) { /* MOV r/m, imm */
		in->size = op == 0xc6 ? 1 : opsize;
		in->write = true;
		in->has_imm = true;
		immsz = in->size == 8 ? 4 : in->size;
	} else {
		return -1;
	}
	if (i >= avail)
		return -1;
	in->reg = ((b[i] >> 3) & 7) | rex_r;
	if (in->has_imm && (in->reg & 7))
		return -1; /* C6/C7 /0 only */
	in->high_byte = in->size == 1 && !rex && (in->reg & 4) &&
			(in->write || in->dst_size == 1);
	ml = modrm_len(b + i, avail - i);
	if (ml < 0)
		return -1;
	i += (u32)ml;
	if (i + immsz > avail)
		return -1;
	for (u32 k = 0; k < immsz; k++)
		in->imm |= (u64)b[i + k] << (8 * k);
	if (immsz == 4 && in->size == 8)
		in->imm = (u64)(s64)(s32)in->imm; /* sign-extended imm32 */
	in->len = i + immsz;
	return in->len <= 15 ? 0 : -1;
}

static u64 size_mask(u32 size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static u64 store_value(struct vcpu *vcpu, const struct insn *in)
{
	u64 v;

	if (in->has_imm)
		return in->imm & size_mask(in->size);
	if (in->high_byte)
		return (*gpr(vcpu, in->reg & 3) >> 8) & 0xff;
	v = *gpr(vcpu, in->reg);
	return v & size_mask(in->size);
}

static void load_value(struct vcpu *vcpu, const struct insn *in, u64 v)
{
	u64 *r;

	v &= size_mask(in->size);
	if (in->high_byte) {
		r = gpr(vcpu, in->reg & 3);
		*r = (*r & ~0xff00ULL) | (v << 8);
		return;
	}
	r = gpr(vcpu, in->reg);
	/* SDM Vol. 1 3.4.1.1: 32-bit results zero-extend, 8/16 merge. */
	if (in->dst_size >= 4)
		*r = v;
	else
		*r = (*r & ~size_mask(in->dst_size)) | v;
}

/* Fetch and decode the instruction at the guest's RIP. */
static int fetch_decode(struct vcpu *vcpu, struct insn *in)
{
	u8 bytes[15];
	u32 avail = 0;
	u64 pa;

	while (avail < sizeof(bytes) &&
	       !gva_to_gpa(vcpu, vcpu->regs.rip + avail, 0, &pa) &&
	       !gpa_read(vcpu->vm, pa, &bytes[avail], 1))
		avail++;
	return decode(bytes, avail, in);
}

int mmio_emulate(struct vcpu *vcpu, u64 gpa, mmio_fn fn)
{
	struct insn in;
	u64 v = 0;

	if (fetch_decode(vcpu, &in))
		return -1;
	if (in.write) {
		v = store_value(vcpu, &in);
		fn(vcpu, gpa, in.size, true, &v);
	} else {
		fn(vcpu, gpa, in.size, false, &v);
		load_value(vcpu, &in, v);
	}
	vcpu_skip(vcpu, in.len);
	return 0;
}

static void empty_bus(struct vcpu *vcpu, u64 gpa, u32 size, bool write,
		      u64 *val)
{
	if (!write)
		*val = ~0ULL;
}

static const char *kind_name(u32 type)
{
	return type == MEM_HYPERVISOR ? "hypervisor memory" :
	       type == MEM_NOT_OWNED  ? "memory of another VM" :
					"unmapped memory";
}

static u32 gpa_kind(struct vm *vm, u64 gpa)
{
	for (u32 i = 0; i < vm->nr_mem; i++)
		if (gpa >= vm->mem[i].base &&
		    gpa - vm->mem[i].base < vm->mem[i].size)
			return vm->mem[i].type;
	return 0;
}

void handle_refused_access(struct vcpu *vcpu, const struct exit_info *ex)
{
	struct vm *vm = vcpu->vm;
	u64 rip = vcpu->regs.rip;
	bool ok = !(ex->s2.access & S2_EXEC) &&
		  !mmio_emulate(vcpu, ex->s2.gpa, empty_bus);

	/* Rate-limited in vm_refuse: a hostile guest must not flood the log. */
	vm_refuse(vm, REFUSE_MEM,
		  "%s of %s at 0x%lx (rip 0x%lx cpl %u cr3 0x%lx): %s",
		  (ex->s2.access & S2_WRITE) ? "write" :
		  (ex->s2.access & S2_EXEC)  ? "execute" :
					       "read",
		  vm->role == VM_ROLE_GUEST ?
			  "guest-physical memory outside this guest" :
			  kind_name(gpa_kind(vm, ex->s2.gpa)),
		  ex->s2.gpa, rip, arch->guest_cpl(vcpu), arch->guest_cr3(vcpu),
		  !ok ? "instruction not emulated, #GP injected" :
		  (ex->s2.access & S2_WRITE) ? "store dropped" :
					       "load returns all-ones");
	if (!ok)
		arch->inject_exception(vcpu, 13, true, 0);
}
