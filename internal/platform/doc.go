// Package platform is the one definition of how release file names say what
// they hold: which operating system and architecture a program was built
// for, in which archive or compression format it is packed, which files
// beside it are never programs, and what the executable inside an archive
// is called.
//
// Before it, the GitHub source, the feed and the updater each had a table
// of their own, and they disagreed (one knew "aarch64", another did not).
// Everything here is pure: names in, answers out, no I/O, so every rule can
// be checked in a table of real release names (see testdata/releases).
//
// The main entry points are:
//
//   - FormatOf and SplitFormat: the archive or compression format a name
//     ends in, including the files that are never programs (checksums,
//     signatures, SBOMs, OS packages) and the compressions this module
//     cannot read (.7z, .rar, .lz4, ...), which are never taken as a bare
//     executable;
//   - Parse: what one asset name says (OS, architecture, ARM level, format,
//     flavour words such as musl or extended);
//   - Choose: the one asset of a release a machine should install;
//   - FeedName and ParseFeedName: the strict naming rule of the feed source;
//   - ExecutableNames: the names the executable may have inside an archive;
//   - ExeName: the Windows .exe rule.
package platform
