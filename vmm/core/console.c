// SPDX-License-Identifier: GPL-2.0
/*
 * Hypervisor log on the first 16550 UART (COM1). The firmware already
 * programmed the line; we only poll LSR.THRE before each byte so the log
 * never depends on interrupts. Every line is prefixed "devirt: " so that it
 * can be told apart from the driver VM's own console on the same port.
 */
#include "lib.h"
#include "x86.h"
#include "spinlock.h"

#define COM1 0x3f8
#define UART_LSR 5
#define UART_LSR_THRE 0x20

u32 log_level = LOG_INFO;
static spinlock_t console_lock;

void console_init(void)
{
	spin_init(&console_lock);
}

static void uart_putc(char c)
{
	u32 spins = 0;

	/* Bounded wait: a missing UART must not hang the hypervisor. */
	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE) && spins++ < 100000)
		cpu_relax();
	outb(COM1, (u8)c);
}

void console_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
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
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	spin_lock(&console_lock);
	console_write(buf, (size_t)n);
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
