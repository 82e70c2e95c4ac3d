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
#define COM2 0x2f8
#define UART_LSR 5
#define UART_LSR_THRE 0x20

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
	spin_lock(&console_lock);
	port_write(guest_port, "[", 1);
	port_write(guest_port, vm, strlen(vm));
	port_write(guest_port, "] ", 2);
	port_write(guest_port, s, len);
	port_write(guest_port, "\n", 1);
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
