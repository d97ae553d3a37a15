module goshim

go 1.26.0
