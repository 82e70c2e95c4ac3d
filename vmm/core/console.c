// SPDX-License-Identifier: GPL-2.0
/*
 * Hypervisor log on the first 16550 UART (COM1). The firmware already
 * programmed the line; we only poll LSR.THRE before each byte so the log
 * never depends on interrupts. Every line is prefixed "devirt: " so that it
 * can be told apart from the driver VM's own console on the same port.
 */
#include <devirt/boot_info.h>
#include "lib.h"
#include "x86.h"
#include "spinlock.h"

#define UART_LCR 3
#define UART_LSR 5
#define UART_LCR_DLAB 0x80
#define UART_LSR_THRE 0x20
#define HOLD_MS 20

extern struct boot_info *boot_info;

u32 log_level = LOG_INFO;
static spinlock_t console_lock;

void console_init(void)
{
	spin_init(&console_lock);
}

static u16 guest_port = COM1;

static void uart_putc(u16 port, char c)
{
	u32 spins = 0;

	/* Bounded wait: a missing UART must not hang the hypervisor. */
	while (!(inb(port + UART_LSR) & UART_LSR_THRE) && spins++ < 100000)
		cpu_relax();
	outb(port, (u8)c);
}

static void port_write(u16 port, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			uart_putc(port, '\r');
		uart_putc(port, s[i]);
	}
}

void console_write(const char *s, size_t len)
{
	port_write(COM1, s, len);
}

/*
 * The driver VM writes COM1 too. Its THR writes exit (vm.c) so that a line
 * of devirt's never lands inside one of the driver VM's: while the driver
 * VM is in the middle of a line, devirt's lines wait here, until its
 * newline or for HOLD_MS at most (a driver VM that stopped mid-line).
 */
static struct {
	bool midline; /* the driver VM's last byte on COM1 was not '\n' */
	bool driver_last; /* ... and it was the last byte anyone wrote */
	u64 since; /* TSC when the first held line came */
	u32 len;
	char buf[4096];
} held;

static u64 hold_ticks(void)
{
	u64 hz = boot_info && boot_info->tsc_hz ? boot_info->tsc_hz :
						  3000000000ULL;

	return hz / 1000 * HOLD_MS;
}

/* Caller holds console_lock. */
static void release_held(void)
{
	if (!held.len)
		return;
	if (held.midline)
		port_write(COM1, "\n", 1); /* the driver VM stalled mid-line */
	held.midline = false;
	port_write(COM1, held.buf, held.len);
	held.len = 0;
	held.driver_last = false;
}

/* A whole line of devirt's for COM1. Caller holds console_lock. */
static void com1_line(const char *s, size_t len)
{
	if (held.midline && held.len + len <= sizeof(held.buf) &&
	    (!held.len || rdtsc() - held.since < hold_ticks())) {
		if (!held.len)
			held.since = rdtsc();
		memcpy(held.buf + held.len, s, len);
		held.len += (u32)len;
		return;
	}
	release_held(); /* when the driver VM was mid-line: held.len != 0 */
	held.driver_last = false;
	port_write(COM1, s, len);
}

void console_driver_out(u8 c)
{
	spin_lock(&console_lock);
	if (inb(COM1 + UART_LCR) & UART_LCR_DLAB) {
		outb(COM1, c); /* divisor latch, not a character */
	} else {
		/*
		 * The driver VM checked THRE before this byte; after one of
		 * devirt's lines that no longer holds, so wait for it.
		 */
		if (held.driver_last)
			outb(COM1, c);
		else
			uart_putc(COM1, (char)c);
		held.driver_last = true;
		held.midline = c != '\n';
		if (!held.midline)
			release_held();
	}
	spin_unlock(&console_lock);
}

void console_poll(void)
{
	if (!*(volatile u32 *)&held.len || rdtsc() - held.since < hold_ticks())
		return;
	spin_lock(&console_lock);
	if (held.len && rdtsc() - held.since >= hold_ticks())
		release_held();
	spin_unlock(&console_lock);
}

/*
 * User guests' consoles go to COM2 when the machine has one, so that each
 * log holds whole lines of one kind; otherwise they share COM1. Every line
 * is tagged "[vm] " either way. COM2 is then devirt's: the driver VM
 * finds no UART there (io.c).
 */
void guest_console_init(void)
{
	outb(COM2 + 7, 0x5a); /* scratch register */
	if (inb(COM2 + 7) != 0x5a) {
		pr_info("user guest consoles: on COM1, tagged (no COM2)\n");
		return;
	}
	outb(COM2 + 1, 0); /* no interrupts */
	outb(COM2 + 3, 0x80); /* DLAB: 115200 baud, 8N1 */
	outb(COM2 + 0, 1);
	outb(COM2 + 1, 0);
	outb(COM2 + 3, 0x03);
	outb(COM2 + 2, 0x07); /* FIFOs on and cleared */
	outb(COM2 + 4, 0x03); /* DTR, RTS */
	guest_port = COM2;
	pr_info("user guest consoles: on COM2 (0x2f8), tagged \"[vm] \"\n");
}

bool guest_console_on_com2(void)
{
	return guest_port == COM2;
}

void guest_console_line(const char *vm, const char *s, size_t len)
{
	char line[300];
	size_t n = strlen(vm);

	/* A uart.c line is at most 160 bytes, a VM name 15. */
	if (n + len + 4 > sizeof(line))
		len = sizeof(line) - 4 - n;
	line[0] = '[';
	memcpy(line + 1, vm, n);
	memcpy(line + 1 + n, "] ", 2);
	memcpy(line + 3 + n, s, len);
	line[3 + n + len] = '\n';
	spin_lock(&console_lock);
	if (guest_port == COM1)
		com1_line(line, n + len + 4);
	else
		port_write(guest_port, line, n + len + 4);
	spin_unlock(&console_lock);
}

void printk(u32 level, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	memcpy(buf, "devirt: ", 8);
	va_start(ap, fmt);
	n = vsnprintf(buf + 8, sizeof(buf) - 8, fmt, ap);
	va_end(ap);
	n += 8;
	if (n > (int)sizeof(buf) - 1) {
		/* Cut, but keep the line whole: the logs are read by line. */
		n = sizeof(buf) - 1;
		memcpy(buf + n - 4, "...\n", 4);
	}
	spin_lock(&console_lock);
	com1_line(buf, (size_t)n);
	spin_unlock(&console_lock);
}

void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write("devirt: PANIC: ", 15);
	console_write(buf, strlen(buf));
	console_write("\n", 1);
	cpu_halt_forever();
}
