// rlvr: the file-stream instantiations Debian's wasm32 libc++.a does not carry (it is built with
// _LIBCPP_HAS_FILESYSTEM 0; see verifiers/runtimes/libcxx-config/__config_site), compiled with
// exceptions like the rest of rlvr's C++ runtime.
#include <fstream>
_LIBCPP_BEGIN_NAMESPACE_STD
template class basic_filebuf<char>;
template class basic_ifstream<char>;
template class basic_ofstream<char>;
template class basic_fstream<char>;
_LIBCPP_END_NAMESPACE_STD
