/*
 * bcryptprimitives.dll for Wine 8.0, which has none: Go's windows runtime
 * (Go 1.26 here) loads it at start for ProcessPrng and stops without it
 * ("fatal error: bcryptprimitives.dll not found"). This stub exports only
 * ProcessPrng, filled by RtlGenRandom (advapi32's SystemFunction036), which
 * Wine implements. .ci/windows builds it with mingw-w64 into the Wine
 * prefix's system32, where the runtime looks (LOAD_LIBRARY_SEARCH_SYSTEM32).
 * Test use only: it is never shipped and never used on real Windows.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE h, DWORD reason, LPVOID reserved)
{
	(void)h;
	(void)reason;
	(void)reserved;
	return TRUE;
}
