/* SPDX-License-Identifier: GPL-2.0 */
/* Freestanding helpers: strings, formatting, console, panic. */
#ifndef DEVIRT_LIB_H
#define DEVIRT_LIB_H

#include <devirt/types.h>
#include <stdarg.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
size_t strlcpy(char *dst, const char *src, size_t size);

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Log levels: messages above the configured level are dropped. */
#define LOG_ERR 0
#define LOG_INFO 1
#define LOG_DEBUG 2

extern u32 log_level;
#define COM1 0x3f8 /* devirt's log and the driver VM's console */
#define COM2 0x2f8 /* user guests' consoles, when there is one */
void console_init(void);
void console_write(const char *s, size_t len);
/* A byte the driver VM wrote to COM1's THR/DLL (io.c). */
void console_driver_out(u8 c);
/* Lets held lines out once the driver VM has kept COM1 too long. */
void console_poll(void);
void guest_console_init(void);
bool guest_console_on_com2(void);
/* One whole line of a user guest's console, tagged with its name. */
void guest_console_line(const char *vm, const char *s, size_t len);
void printk(u32 level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define pr_err(...) printk(LOG_ERR, __VA_ARGS__)
#define pr_info(...) printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) printk(LOG_DEBUG, __VA_ARGS__)

void __attribute__((noreturn)) panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
