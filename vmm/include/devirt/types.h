/* SPDX-License-Identifier: GPL-2.0 */
/* Fixed-width types for code that builds both freestanding and hosted. */
#ifndef DEVIRT_TYPES_H
#define DEVIRT_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((u64)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a)-1)) == 0)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL
#define SZ_1G 0x40000000ULL
#define PAGE_SIZE SZ_4K

#endif
