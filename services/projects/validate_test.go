package projects

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/devsmith/logs/internal/apierr"
)

func TestPageToken(t *testing.T) {
	k := pageKey{T: time.Date(2025, 11, 11, 20, 45, 0, 123456000, time.UTC), ID: 42}
	got, err := decodePageToken(encodePageToken(k))
	require.NoError(t, err)
	require.True(t, k.T.Equal(got.T))
	require.Equal(t, k.ID, got.ID)

	none, err := decodePageToken("")
	require.NoError(t, err)
	require.Nil(t, none)

	for _, bad := range []string{"=", "not base64!", "MTIz", "LjE", "MTIzLjA", "YS5i"} {
		_, err := decodePageToken(bad)
		require.ErrorIs(t, err, apierr.ErrInvalid, bad)
	}
}

func TestPageSize(t *testing.T) {
	for in, want := range map[int32]int{0: 100, 1: 1, 1000: 1000, 1001: 1000, 1 << 30: 1000} {
		got, err := pageSize(in)
		require.NoError(t, err)
		require.Equal(t, want, got, "page_size %d", in)
	}
	_, err := pageSize(-1)
	require.ErrorIs(t, err, apierr.ErrInvalid)
}
