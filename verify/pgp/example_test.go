package pgp_test

import (
	"bytes"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/molt-go/update/verify/pgp"
)

// This example reads a cleartext-signed SHA256SUMS with the project's
// public key.
func Example() {
	// The project's key and its gpg --clearsign, done by the project.
	e, _ := openpgp.NewEntity("release", "", "release@example.invalid", nil)
	var pub, signed bytes.Buffer
	w, _ := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	e.Serialize(w)
	w.Close()
	cw, _ := clearsign.Encode(&signed, e.PrivateKey, nil)
	cw.Write([]byte("5891b5b5...  hello_1.2.3_linux_amd64.tar.gz\n"))
	cw.Close()

	v, err := pgp.New(pub.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	text, err := v.VerifyInline(signed.Bytes())
	fmt.Printf("%q %v\n", text, err)
	// Output:
	// "5891b5b5...  hello_1.2.3_linux_amd64.tar.gz\n" <nil>
}
