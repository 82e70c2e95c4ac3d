// SPDX-License-Identifier: GPL-2.0
/*
 * A read-only MC146818 CMOS clock for user guests (index port 0x70, data
 * 0x71). Linux registers rtc_cmos on any PC without ACPI saying otherwise,
 * and with a floating bus it would wait forever for "update in progress"
 * to clear. The time is the loader's UTC clock plus the TSC since; writes
 * are ignored: a guest does not set the machine's clock.
 */
#include "vm.h"
#include "../core/lib.h"
#include "../core/x86.h"

#define RTC_INDEX 0x70
#define RTC_DATA 0x71

static u8 bcd(u32 v)
{
	return (u8)(((v / 10) << 4) | (v % 10));
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void civil(u64 days, u32 *y, u32 *m, u32 *d)
{
	u64 z = days + 719468, era = z / 146097, doe = z - era * 146097;
	u64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	u64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp;

	mp = (5 * doy + 2) / 153;
	*d = (u32)(doy - (153 * mp + 2) / 5 + 1);
	*m = (u32)(mp < 10 ? mp + 3 : mp - 9);
	*y = (u32)(yoe + era * 400 + (*m <= 2));
}

static u8 rtc_reg(u32 reg)
{
	u64 hz = boot_info->tsc_hz ? boot_info->tsc_hz : 1, now = rdtsc();
	u64 t = boot_info->wall_sec;
	u32 y, m, d;

	if (now > boot_info->wall_tsc)
		t += (now - boot_info->wall_tsc) / hz;
	civil(t / 86400, &y, &m, &d);
	switch (reg) {
	case 0x00:
		return bcd((u32)(t % 60));
	case 0x02:
		return bcd((u32)(t / 60 % 60));
	case 0x04:
		return bcd((u32)(t / 3600 % 24));
	case 0x06:
		return bcd(
			(u32)((t / 86400 + 4) % 7 + 1)); /* 1970-01-01: Thu */
	case 0x07:
		return bcd(d);
	case 0x08:
		return bcd(m);
	case 0x09:
		return bcd(y % 100);
	case 0x32:
		return bcd(y / 100); /* century, where PCs keep it */
	case 0x0a:
		return 0x26; /* 32.768 kHz base, no update in progress */
	case 0x0b:
		return 0x02; /* 24-hour, BCD, no interrupts */
	case 0x0d:
		return 0x80; /* valid RAM and time */
	default:
		return 0; /* alarms, flags, NVRAM */
	}
}

bool rtc_io(struct vcpu *vcpu, u16 port, bool in, u32 *val)
{
	struct vm *vm = vcpu->vm;

	if (port == RTC_INDEX) {
		if (in)
			*val = 0xff; /* write-only on real chipsets */
		else
			vm->rtc_index = *val & 0x7f; /* bit 7: NMI mask */
		return true;
	}
	if (port == RTC_DATA) {
		if (in)
			*val = rtc_reg(vm->rtc_index);
		return true;
	}
	return false;
}
