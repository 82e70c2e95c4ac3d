// SPDX-License-Identifier: GPL-2.0
/*
 * devirt UEFI loader (BOOTX64.EFI). It checks the CPU, reads the boot
 * config and every image it names, and only when all of that succeeded
 * does it leave the firmware: ExitBootServices, then the hypervisor entry.
 * Every failure before that point is printed (screen and serial) and
 * returns to the firmware, which moves on to its next boot option.
 */
#include <efi.h>
#include <efilib.h>
#include <devirt/boot_info.h>
#include "loader.h"

#define CFG_PATH L"\\EFI\\devirt\\devirt.cfg"
#define VMM_PATH L"\\EFI\\devirt\\vmm.elf"
#define ERR_PAUSE_US 3000000

static EFI_FILE_HANDLE root;

/* Print on ConOut (screen, and serial on firmware that mirrors it). */
static void say(const CHAR16 *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	VPrint(fmt, ap);
	va_end(ap);
}

static EFI_STATUS fail(EFI_STATUS st, const char *what)
{
	say(L"devirt: ERROR: %a\n", what);
	say(L"devirt: boot aborted, returning to the firmware (status %r)\n",
	    st);
	uefi_call_wrapper(BS->Stall, 1, ERR_PAUSE_US);
	return st;
}

static u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	asm volatile("cpuid"
		     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(0));
}

/*
 * Pick the back end and make sure the firmware left it usable, while we
 * can still return to the firmware with a message.
 */
static int detect_backend(char *why, UINTN len)
{
	u32 a, b, c, d, max_ext;
	char vendor[13];

	cpuid(0, &a, &b, &c, &d);
	CopyMem(vendor, &b, 4);
	CopyMem(vendor + 4, &d, 4);
	CopyMem(vendor + 8, &c, 4);
	vendor[12] = 0;
	cpuid(1, &a, &b, &c, &d);
	if (c & (1u << 5)) { /* CPUID.1:ECX.VMX, SDM 23.6 */
		u64 fc = rdmsr(0x3a); /* IA32_FEATURE_CONTROL, SDM 23.7 */
		u64 ctls2;

		if ((fc & 1) && !(fc & 4)) {
			loader_fmt(
				why, len,
				"VMX is locked off by the firmware (IA32_FEATURE_CONTROL=0x%x): enable Intel VT-x in the firmware setup",
				fc);
			return BACKEND_NONE;
		}
		/* Allowed-1 secondary controls: EPT is bit 1 (SDM A.3.3). */
		ctls2 = rdmsr(0x48b) >> 32;
		if (!(ctls2 & 2) || !(ctls2 & 0x80)) {
			loader_fmt(
				why, len,
				"this CPU has VMX but not EPT with unrestricted guest (secondary controls 0x%x)",
				ctls2);
			return BACKEND_NONE;
		}
		return BACKEND_VMX;
	}
	cpuid(0x80000000, &max_ext, &b, &c, &d);
	if (max_ext >= 0x80000001) {
		cpuid(0x80000001, &a, &b, &c, &d);
		if (c & (1u << 2)) { /* CPUID Fn8000_0001 ECX.SVM, APM 15.4 */
			if (rdmsr(0xc0010114) & (1u << 4)) { /* VM_CR.SVMDIS */
				loader_fmt(
					why, len,
					"SVM is disabled by the firmware (VM_CR.SVMDIS): enable AMD-V/SVM in the firmware setup%s",
					"");
				return BACKEND_NONE;
			}
			cpuid(0x8000000a, &a, &b, &c, &d);
			if (!(d & 1)) { /* Fn8000_000A EDX.NP, APM 15.25 */
				loader_fmt(
					why, len,
					"this CPU has SVM but no nested paging (NPT)%s",
					"");
				return BACKEND_NONE;
			}
			return BACKEND_SVM;
		}
	}
	loader_fmt(
		why, len,
		"this CPU (%s) has neither Intel VMX nor AMD SVM: devirt needs hardware virtualization",
		vendor);
	return BACKEND_NONE;
}

static void to_path16(CHAR16 *out, UINTN cap, const char *in)
{
	UINTN i;

	for (i = 0; in[i] && i + 1 < cap; i++)
		out[i] = in[i] == '/' ? L'\\' : (CHAR16)in[i];
	out[i] = 0;
}

static EFI_STATUS open_file(const CHAR16 *path, EFI_FILE_HANDLE *fh, u64 *size)
{
	EFI_FILE_INFO *info;
	EFI_STATUS st;

	st = uefi_call_wrapper(root->Open, 5, root, fh, (CHAR16 *)path,
			       EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		return st;
	info = LibFileInfo(*fh);
	if (!info) {
		uefi_call_wrapper((*fh)->Close, 1, *fh);
		return EFI_DEVICE_ERROR;
	}
	*size = info->FileSize;
	FreePool(info);
	return EFI_SUCCESS;
}

static EFI_STATUS read_all(EFI_FILE_HANDLE fh, void *buf, u64 size)
{
	UINTN n = size;
	EFI_STATUS st = uefi_call_wrapper(fh->Read, 3, fh, &n, buf);

	uefi_call_wrapper(fh->Close, 1, fh);
	if (!EFI_ERROR(st) && n != size)
		st = EFI_END_OF_FILE;
	return st;
}

struct pending {
	EFI_FILE_HANDLE fh;
	u64 size;
	int vm; /* -1: the hypervisor image, else the VM it belongs to */
	bool initrd;
	const char *path;
};

static u64 conventional_bytes(void)
{
	UINTN n, key, dsz;
	UINT32 dver;
	EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&n, &key, &dsz, &dver);
	u64 total = 0;

	if (!map)
		return 0;
	for (UINTN i = 0; i < n; i++) {
		EFI_MEMORY_DESCRIPTOR *d =
			(EFI_MEMORY_DESCRIPTOR *)((u8 *)map + i * dsz);

		if (efi_type_to_mem(d->Type) == MEM_RAM)
			total += d->NumberOfPages * 4096;
	}
	FreePool(map);
	return total;
}

static void find_rsdp(struct boot_info *bi)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;

	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

		if (!CompareGuid(&t->VendorGuid, &acpi20)) {
			bi->acpi_rsdp = (u64)(UINTN)t->VendorTable;
			return;
		}
		if (!CompareGuid(&t->VendorGuid, &acpi10))
			bi->acpi_rsdp = (u64)(UINTN)t->VendorTable;
	}
}

static void find_framebuffer(struct boot_info *bi)
{
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;
	EFI_STATUS st =
		LibLocateProtocol(&GraphicsOutputProtocol, (void **)&gop);

	if (EFI_ERROR(st) || !gop || !gop->Mode || !gop->Mode->Info)
		return;
	bi->fb.base = gop->Mode->FrameBufferBase;
	bi->fb.size = gop->Mode->FrameBufferSize;
	bi->fb.width = gop->Mode->Info->HorizontalResolution;
	bi->fb.height = gop->Mode->Info->VerticalResolution;
	bi->fb.stride = gop->Mode->Info->PixelsPerScanLine;
	if (gop->Mode->Info->PixelFormat ==
	    PixelRedGreenBlueReserved8BitPerColor)
		bi->fb.format = 1;
	else if (gop->Mode->Info->PixelFormat ==
		 PixelBlueGreenRedReserved8BitPerColor)
		bi->fb.format = 2;
}

static u64 measure_tsc(void)
{
	u32 lo, hi;
	u64 t0, t1;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	t0 = ((u64)hi << 32) | lo;
	uefi_call_wrapper(BS->Stall, 1, 50000);
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	t1 = ((u64)hi << 32) | lo;
	return (t1 - t0) * 20;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian calendar). */
static u64 days_from_civil(u32 y, u32 m, u32 d)
{
	u32 era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (u64)era * 146097 + doe - 719468;
}

/* The firmware's clock, for the guests' kvmclock wall time (UTC). */
static void read_wall_clock(struct boot_info *bi)
{
	EFI_TIME t;
	u32 lo, hi;
	s64 sec;

	if (EFI_ERROR(uefi_call_wrapper(RT->GetTime, 2, &t, NULL)) ||
	    t.Year < 1970 || t.Month < 1 || t.Month > 12 || t.Day < 1)
		return;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	sec = (s64)days_from_civil(t.Year, t.Month, t.Day) * 86400 +
	      t.Hour * 3600 + t.Minute * 60 + t.Second;
	if (t.TimeZone != EFI_UNSPECIFIED_TIMEZONE)
		sec += (s64)t.TimeZone * 60; /* local = UTC - TimeZone */
	bi->wall_sec = (u64)sec;
	bi->wall_tsc = ((u64)hi << 32) | lo;
}

/*
 * boot = bare: start the driver VM's kernel directly through its EFI stub,
 * with the same firmware, files and command line, for baseline timings.
 */
static EFI_STATUS boot_bare(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
			    struct vm_config *vm)
{
	static CHAR16 opts[CFG_PATH_LEN + CFG_CMDLINE_LEN + 16];
	CHAR16 path[CFG_PATH_LEN];
	EFI_LOADED_IMAGE *kli;
	EFI_DEVICE_PATH *dp;
	EFI_HANDLE kh = NULL;
	EFI_STATUS st;
	UINTN n = 0;
	const char *parts[3] = { vm->initrd[0] ? "initrd=" : "", vm->initrd,
				 " " };

	for (int p = 0; p < 3; p++)
		for (const char *c = parts[p]; *c; c++)
			opts[n++] = *c == '/' ? L'\\' : (CHAR16)*c;
	for (const char *c = vm->cmdline; *c; c++)
		opts[n++] = (CHAR16)*c;
	opts[n] = 0;
	to_path16(path, CFG_PATH_LEN, vm->kernel);
	dp = FileDevicePath(li->DeviceHandle, path);
	if (!dp)
		return fail(EFI_OUT_OF_RESOURCES,
			    "cannot build the kernel's device path");
	st = uefi_call_wrapper(BS->LoadImage, 6, FALSE, image, dp, NULL, 0,
			       &kh);
	if (EFI_ERROR(st))
		return fail(
			st,
			"boot = bare: cannot load the kernel as an EFI image");
	st = uefi_call_wrapper(BS->HandleProtocol, 3, kh, &LoadedImageProtocol,
			       (void **)&kli);
	if (EFI_ERROR(st))
		return fail(
			st,
			"boot = bare: kernel image has no loaded-image protocol");
	kli->LoadOptions = opts;
	kli->LoadOptionsSize = (UINT32)((n + 1) * sizeof(CHAR16));
	say(L"devirt: boot = bare, entering the kernel without devirt\n");
	st = uefi_call_wrapper(BS->StartImage, 3, kh, NULL, NULL);
	return fail(st, "boot = bare: the kernel returned");
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	static struct devirt_config cfg;
	struct pending files[1 + 2 * CFG_MAX_VMS];
	EFI_LOADED_IMAGE *li;
	EFI_FILE_HANDLE fh;
	EFI_PHYSICAL_ADDRESS resv = 0xffffffff;
	EFI_MEMORY_DESCRIPTOR *map;
	struct boot_info *bi;
	UINTN nfiles = 0, map_size, map_key, desc_size, pages;
	UINT32 desc_ver;
	u64 cfg_size, total_files = 0, need_ram = 0, have_ram, base, off;
	u64 vmm_size, entry;
	char msg[256], *cfg_text;
	EFI_STATUS st;
	int backend;

	InitializeLib(image, systab);
	say(L"devirt: UEFI loader, boot ABI %d\n", BOOT_INFO_VERSION);

	backend = detect_backend(msg, sizeof(msg));
	if (backend == BACKEND_NONE)
		return fail(EFI_UNSUPPORTED, msg);

	st = uefi_call_wrapper(BS->HandleProtocol, 3, image,
			       &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st))
		return fail(st, "cannot find the device the loader came from");
	root = LibOpenRoot(li->DeviceHandle);
	if (!root)
		return fail(EFI_NOT_FOUND, "cannot open the boot file system");

	st = open_file(CFG_PATH, &fh, &cfg_size);
	if (EFI_ERROR(st))
		return fail(
			st,
			"boot config \\EFI\\devirt\\devirt.cfg is missing (see docs/boot-config.md)");
	if (cfg_size > 64 * 1024)
		return fail(EFI_BAD_BUFFER_SIZE,
			    "boot config is larger than 64 KiB");
	cfg_text = AllocatePool(cfg_size + 1);
	if (!cfg_text)
		return fail(EFI_OUT_OF_RESOURCES, "out of firmware memory");
	st = read_all(fh, cfg_text, cfg_size);
	if (EFI_ERROR(st))
		return fail(st, "cannot read the boot config");
	if (config_parse(cfg_text, cfg_size, &cfg, msg, sizeof(msg))) {
		char full[300];

		loader_fmt(
			full, sizeof(full),
			"malformed boot config \\EFI\\devirt\\devirt.cfg: %s",
			msg);
		return fail(EFI_INVALID_PARAMETER, full);
	}
	say(L"devirt: config: %d VM(s), hypervisor memory %ld MiB\n",
	    cfg.nr_vms, cfg.hyp_memory >> 20);

	if (cfg.bare)
		return boot_bare(image, li, &cfg.vms[0]);

	/* Open every image first, so that a missing one costs nothing. */
	st = open_file(VMM_PATH, &files[0].fh, &files[0].size);
	if (EFI_ERROR(st))
		return fail(
			st,
			"hypervisor image \\EFI\\devirt\\vmm.elf is missing");
	files[0].path = "vmm.elf";
	files[0].vm = -1;
	files[0].initrd = false;
	nfiles = 1;
	for (u32 i = 0; i < cfg.nr_vms; i++) {
		const char *paths[2] = { cfg.vms[i].kernel, cfg.vms[i].initrd };

		need_ram += cfg.vms[i].memory;
		for (int k = 0; k < 2; k++) {
			CHAR16 p16[CFG_PATH_LEN];
			struct pending *f = &files[nfiles];

			if (!paths[k][0])
				continue;
			to_path16(p16, CFG_PATH_LEN, paths[k]);
			st = open_file(p16, &f->fh, &f->size);
			if (EFI_ERROR(st)) {
				loader_fmt(
					msg, sizeof(msg),
					"VM '%s': %s image '%s' not found on the boot device",
					cfg.vms[i].name,
					k ? "initrd" : "kernel", paths[k]);
				return fail(st, msg);
			}
			f->path = paths[k];
			f->vm = (int)i;
			f->initrd = k == 1;
			total_files += ALIGN_UP(f->size, SZ_2M);
			nfiles++;
		}
	}
	vmm_size = ALIGN_UP(files[0].size * 2 + SZ_2M, SZ_2M);

	/*
	 * One reservation holds everything the hypervisor owns: its image
	 * (loaded from the ELF), boot_info, the VM images and its heap.
	 */
	pages = (vmm_size + SZ_2M + total_files + cfg.hyp_memory + SZ_2M) /
		4096;
	have_ram = conventional_bytes();
	if (have_ram < need_ram + pages * 4096) {
		loader_fmt(
			msg, sizeof(msg),
			"not enough memory: the VMs need %u MiB and the hypervisor %u MiB, but only %u MiB is free",
			need_ram >> 20, (pages * 4096) >> 20, have_ram >> 20);
		return fail(EFI_OUT_OF_RESOURCES, msg);
	}
	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress,
			       EfiReservedMemoryType, pages, &resv);
	if (EFI_ERROR(st))
		return fail(
			st,
			"cannot reserve memory for the hypervisor below 4 GiB");
	base = ALIGN_UP(resv, SZ_2M);

	bi = (struct boot_info *)(UINTN)(base + vmm_size);
	ZeroMem(bi, sizeof(*bi));
	bi->magic = BOOT_INFO_MAGIC;
	bi->version = BOOT_INFO_VERSION;
	bi->backend = backend;
	bi->hyp_base = resv;
	bi->hyp_size = pages * 4096;
	CopyMem(&bi->cfg, &cfg, sizeof(cfg));

	/* Read the hypervisor ELF after boot_info, then load it at base. */
	off = base + vmm_size + SZ_2M;
	for (UINTN i = 0; i < nfiles; i++) {
		struct pending *f = &files[i];

		st = read_all(f->fh, (void *)(UINTN)off, f->size);
		if (EFI_ERROR(st)) {
			loader_fmt(msg, sizeof(msg), "cannot read '%s'",
				   f->path);
			return fail(st, msg);
		}
		if (f->vm >= 0) {
			struct bi_module *m = f->initrd ?
						      &bi->vm[f->vm].initrd :
						      &bi->vm[f->vm].kernel;

			m->addr = off;
			m->size = f->size;
		} else {
			if (elf_load((void *)(UINTN)off, f->size, base,
				     vmm_size, &entry, &bi->image_size, msg,
				     sizeof(msg)))
				return fail(EFI_LOAD_ERROR, msg);
			bi->image_base = base;
			/* The ELF copy is no longer needed: reuse the slot. */
			continue;
		}
		off += ALIGN_UP(f->size, SZ_2M);
	}
	/*
	 * APs start in real mode: their first page must be below 1 MiB, and
	 * below where the EBDA and option ROMs live, which an OS scans.
	 */
	bi->trampoline = 0x6f000;
	if (EFI_ERROR(uefi_call_wrapper(
		    BS->AllocatePages, 4, AllocateMaxAddress,
		    EfiReservedMemoryType, 1, &bi->trampoline)))
		bi->trampoline = 0;
	bi->heap_base = off;
	bi->heap_size = resv + pages * 4096 - off;
	find_rsdp(bi);
	find_framebuffer(bi);
	bi->tsc_hz = measure_tsc();
	read_wall_clock(bi);
	say(L"devirt: backend %a, hypervisor at 0x%lx (%ld MiB), entering it\n",
	    backend == BACKEND_VMX ? "vmx" : "svm", bi->hyp_base,
	    bi->hyp_size >> 20);

	/* Leave the firmware; retry once if the map changed under us. */
	for (int tries = 0;; tries++) {
		map = LibMemoryMap(&map_size, &map_key, &desc_size, &desc_ver);
		if (!map)
			return fail(EFI_OUT_OF_RESOURCES,
				    "cannot read the memory map");
		if (mem_from_efi(bi, map, map_size * desc_size, desc_size))
			return fail(EFI_BUFFER_TOO_SMALL,
				    "memory map has too many entries");
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, map_key);
		if (!EFI_ERROR(st))
			break;
		if (tries)
			return fail(st, "ExitBootServices failed");
	}
	/* The firmware's timer interrupt must not fire into freed code. */
	asm volatile("cli");
	((vmm_entry_fn)(UINTN)entry)(bi);
	for (;;)
		asm volatile("hlt");
}
