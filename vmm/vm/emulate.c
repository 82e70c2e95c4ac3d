// SPDX-License-Identifier: GPL-2.0
/*
 * Refused guest-physical accesses. A VM that touches memory outside its
 * partition (the hypervisor's reservation, another VM's RAM) takes a
 * second-level fault. We log it, count it, and complete the instruction
 * as if the address were an empty bus: loads return all-ones, stores are
 * dropped. Only plain MOV forms are decoded (what readl/writel and
 * ordinary pointer accesses compile to); anything else gets #GP.
 * Opcodes: SDM Vol. 2, Appendix A "Opcode Map".
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"

struct insn {
	u32 len;
	u32 size; /* operand bytes */
	bool write; /* store to memory */
	bool has_reg; /* load into a register */
	u32 reg; /* destination GPR index (SDM encoding) */
	bool byte_high; /* AH..BH without REX */
	bool zero_ext; /* movzx */
};

static u64 *gpr(struct vcpu *vcpu, u32 idx)
{
	/* SDM register encoding order: rax rcx rdx rbx rsp rbp rsi rdi r8.. */
	u64 *base = &vcpu->regs.rax;

	return &base[idx & 15];
}

/* Length of a ModRM operand (ModRM byte itself included). */
static int modrm_len(const u8 *p, u32 avail, bool addr32)
{
	u8 mod, rm;
	int len = 1;

	(void)addr32;
	if (!avail)
		return -1;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	if (mod == 3)
		return -1; /* register operand: not a memory access */
	if (rm == 4) {
		if (avail < 2)
			return -1;
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		len += 4; /* RIP-relative disp32 */
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len;
}

static int decode(const u8 *b, u32 avail, struct insn *in)
{
	u32 i = 0, opsize = 4;
	bool rex_w = false, rex = false, addr32 = false;
	u8 rex_r = 0, op;
	int ml;

	memset(in, 0, sizeof(*in));
	for (; i < avail; i++) {
		u8 c = b[i];

		if (c == 0x66)
			opsize = 2;
		else if (c == 0x67)
			addr32 = true;
		else if (c == 0x2e || c == 0x3e || c == 0x26 || c == 0x36 ||
			 c == 0x64 || c == 0x65)
			continue;
		else
			break;
	}
	if (i < avail && (b[i] & 0xf0) == 0x40) {
		rex = true;
		rex_w = b[i] & 8;
		rex_r = (b[i] & 4) ? 8 : 0;
		i++;
	}
	if (rex_w)
		opsize = 8;
	if (i >= avail)
		return -1;
	op = b[i++];
	switch (op) {
	case 0x88: /* MOV r/m8, r8 */
	case 0x89: /* MOV r/m, r */
	case 0x8a: /* MOV r8, r/m8 */
	case 0x8b: /* MOV r, r/m */
		in->size = (op & 1) ? opsize : 1;
		in->write = op < 0x8a;
		in->has_reg = !in->write;
		in->reg = ((b[i] >> 3) & 7) | rex_r;
		in->byte_high = in->size == 1 && !rex && (in->reg & 4);
		ml = modrm_len(b + i, avail - i, addr32);
		break;
	case 0xc6: /* MOV r/m8, imm8 */
	case 0xc7: /* MOV r/m, imm16/32 */
		if (i >= avail || ((b[i] >> 3) & 7))
			return -1;
		in->size = op == 0xc6 ? 1 : opsize;
		in->write = true;
		ml = modrm_len(b + i, avail - i, addr32);
		if (ml > 0)
			ml += op == 0xc6 ? 1 : (opsize == 2 ? 2 : 4);
		break;
	case 0x0f: /* MOVZX r, r/m8 (B6) or r/m16 (B7) */
		if (i >= avail || (b[i] != 0xb6 && b[i] != 0xb7))
			return -1;
		in->size = b[i] == 0xb6 ? 1 : 2;
		in->zero_ext = true;
		in->has_reg = true;
		i++;
		in->reg = ((b[i] >> 3) & 7) | rex_r;
		ml = modrm_len(b + i, avail - i, addr32);
		if (ml > 0)
			opsize = rex_w ? 8 : (opsize == 2 ? 2 : 4);
		in->size = in->size; /* source size */
		in->byte_high = false;
		if (ml > 0) {
			in->len = i + (u32)ml;
			in->zero_ext = true;
			/* Destination width is opsize; stash in byte_high. */
			in->write = false;
			in->size = opsize | (in->size << 8);
			return 0;
		}
		return -1;
	default:
		return -1;
	}
	if (ml < 0)
		return -1;
	in->len = i + (u32)ml;
	return in->len <= 15 ? 0 : -1;
}

static void complete_load(struct vcpu *vcpu, const struct insn *in)
{
	u64 *r = gpr(vcpu, in->reg);
	u32 size = in->size & 0xff;

	if (in->zero_ext) {
		u32 src = in->size >> 8;
		u64 v = src == 1 ? 0xff : 0xffff;

		if (size == 2)
			*r = (*r & ~0xffffULL) | v;
		else
			*r = v; /* 32-bit destinations zero-extend (SDM 3.4.1.1) */
		return;
	}
	switch (size) {
	case 1:
		if (in->byte_high) {
			r = gpr(vcpu, in->reg & 3);
			*r |= 0xff00;
		} else {
			*r |= 0xff;
		}
		break;
	case 2:
		*r |= 0xffff;
		break;
	case 4:
		*r = 0xffffffffULL;
		break;
	default:
		*r = ~0ULL;
	}
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
	struct insn in;
	u8 bytes[15];
	u64 gpa = ex->s2.gpa, pa;
	u32 avail = 0;
	bool ok;

	vm->refused++;
	/* Fetch as many instruction bytes as the page boundary allows. */
	while (avail < sizeof(bytes) &&
	       !gva_to_gpa(vcpu, vcpu->regs.rip + avail, 0, &pa) &&
	       !gpa_read(vm, pa, &bytes[avail], 1))
		avail++;
	ok = (ex->s2.access & S2_EXEC) == 0 && !decode(bytes, avail, &in);
	if (vm->refused_logged < 32 || (vm->refused % 1000) == 0) {
		vm->refused_logged++;
		pr_info("[%s] refused %s of %s at 0x%lx (rip 0x%lx): %s\n",
			vm->name,
			(ex->s2.access & S2_WRITE) ? "write" :
			(ex->s2.access & S2_EXEC)  ? "execute" :
						     "read",
			kind_name(gpa_kind(vm, gpa)), gpa, vcpu->regs.rip,
			ok ? ((ex->s2.access & S2_WRITE) ? "store dropped" :
							   "load returns all-ones") :
			     "instruction not emulated, #GP injected");
	}
	if (!ok) {
		arch->inject_exception(vcpu, 13, true, 0);
		return;
	}
	if (in.has_reg)
		complete_load(vcpu, &in);
	vcpu_skip(vcpu, in.len);
}
